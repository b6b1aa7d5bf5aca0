import { FriendSetting } from './friend-setting.entity';
import { Friendship } from './friendship.entity';
import { Group } from './group.entity';
import { Notification } from './notification.entity';
import { Permission } from './permission.entity';
import { Role } from './role.entity';
import { SessionRow } from './session.entity';
import { User } from './user.entity';

export * from './enums';
export { Permission, Role, SessionRow, User };
export { FriendSetting, Friendship, Group, Notification };

export const entities = [Permission, Role, User, SessionRow, Notification, Group, FriendSetting, Friendship];
