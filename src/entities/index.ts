import { DeviceCursor } from './device-cursor.entity';
import { Group } from './group.entity';
import { Notification } from './notification.entity';
import { Permission } from './permission.entity';
import { Role } from './role.entity';
import { SessionRow } from './session.entity';
import { DELETED_USER_NAME, User, shownUser } from './user.entity';

export * from './enums';
export { DELETED_USER_NAME, Permission, Role, SessionRow, User, shownUser };
export { DeviceCursor, Group, Notification };

export const entities = [Permission, Role, User, SessionRow, Notification, Group, DeviceCursor];
