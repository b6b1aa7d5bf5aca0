/**
 * The part of ../shared/contract/schema.graphql the code implements. The
 * contract test holds the emitted schema to the contract for everything named
 * here; each issue that implements more of the contract grows these lists.
 */
export const IMPLEMENTED_TYPES: string[] = [
  'DateTime', 'Permission', 'Role', 'User', 'Session', 'ProfileInput',
  'Friend', 'Notification', 'Group', 'GroupMember', 'NotificationType', 'NotificationStatus', 'GroupRole',
  'MessageType', 'Message', 'MessagePage', 'SyncBatch', 'AckState', 'ConversationInput', 'SendMessageInput',
  'Conversation', 'ReadReceipt', 'MessageReaders',
];

export const IMPLEMENTED_OPERATIONS: Record<'Query' | 'Mutation' | 'Subscription', string[]> = {
  Query: ['me', 'user', 'users', 'friends', 'notifications', 'groups', 'group', 'conversations', 'history', 'sync', 'messageReaders'],
  Mutation: [
    'register', 'login', 'refreshSession', 'logout', 'updateProfile', 'deleteUser',
    'sendFriendRequest', 'respondToFriendRequest', 'removeFriend', 'updateFriend', 'acknowledgeNotifications',
    'createGroup', 'addGroupMembers', 'removeGroupMember', 'leaveGroup', 'dissolveGroup',
    'sendMessage', 'acknowledge', 'acknowledgeSync', 'markRead',
  ],
  Subscription: ['notifications', 'messages', 'readReceipts'],
};
