import type { NonEmptyArray } from 'type-graphql';
import { AccountResolver } from './account.resolver';
import { FriendResolver } from './friend.resolver';
import { GroupMemberResolver, GroupResolver } from './group.resolver';
import { AckStateResolver, MessageResolver } from './message.resolver';
import { ConversationResolver, ReadReceiptResolver } from './read.resolver';
import { NotificationResolver } from './notification.resolver';
import { TypingResolver } from './typing.resolver';
import { RoleResolver, UserResolver } from './user.resolver';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [
  AccountResolver, UserResolver, RoleResolver, MessageResolver, AckStateResolver, ReadReceiptResolver, ConversationResolver,
  FriendResolver, NotificationResolver, GroupResolver, GroupMemberResolver, TypingResolver,
];
