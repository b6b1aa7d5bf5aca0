import { Permission } from './permission.entity';
import { Role } from './role.entity';
import { SessionRow } from './session.entity';
import { User } from './user.entity';

export * from './enums';
export { Permission, Role, SessionRow, User };

export const entities = [Permission, Role, User, SessionRow];
