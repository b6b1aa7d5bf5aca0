import { Group } from './group.entity';
import { Notification } from './notification.entity';
import { Permission } from './permission.entity';
import { Role } from './role.entity';
import { SessionRow } from './session.entity';
import { User } from './user.entity';

export * from './enums';
export { Permission, Role, SessionRow, User };
export { Group, Notification };

export const entities = [Permission, Role, User, SessionRow, Notification, Group];
