import { registerEnumType } from 'type-graphql';

// Numeric values are the stored TINYINTs and the proto/im.proto numbers.
export enum MessageType { TEXT = 1, IMAGE = 2, VIDEO = 3, AUDIO = 4, FILE = 5 }
export enum NotificationType {
  FRIEND_REQUEST = 1,
  FRIEND_REMOVED = 2,
  FRIEND_ACCEPTED = 3,
  FRIEND_REJECTED = 4,
  GROUP_JOINED = 5,
  GROUP_REMOVED = 6,
  GROUP_DISSOLVED = 7,
}
export enum NotificationStatus { INITIAL = 1, RECEIVED = 2, READ = 3, FULFILLED = 4, REJECTED = 5 }
export enum GroupRole { OWNER = 1, ADMIN = 2, MEMBER = 3 }
export enum ConversationKind { DIRECT = 1, GROUP = 2 }

registerEnumType(MessageType, { name: 'MessageType' });
registerEnumType(NotificationType, {
  name: 'NotificationType',
  description: 'In proto/im.proto the predecessor\'s numbers stay: FRIEND_REQUEST = 1 (AddFriend), FRIEND_REMOVED = 2 (DelFriend).',
});
registerEnumType(NotificationStatus, {
  name: 'NotificationStatus',
  description: 'In proto/im.proto the predecessor\'s numbers stay: INITIAL = 1, RECEIVED = 2, READ = 3, FULFILLED = 4, REJECTED = 5.',
});
registerEnumType(GroupRole, { name: 'GroupRole' });
