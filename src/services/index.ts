import type { AuthService } from './auth.service';
import type { UserCache } from './cache';
import type { FriendService } from './friend.service';
import type { GroupService } from './group.service';
import type { NotificationService } from './notification.service';
import type { DeliveryEngine } from '../delivery/engine';
import type { ConversationService } from './conversation.service';
import type { MessageService } from './message.service';
import type { ReadService } from './read.service';
import type { TypingService } from './typing.service';
import type { UserService } from './user.service';
import type { RateLimits } from '../limits/rate-limits';
import type { Presence } from '../delivery/presence';
import type { Contacts } from './contacts';
import type { LastSeen } from './last-seen';

/** Everything resolvers may call; built once in main.ts. */
export interface Services {
  auth: AuthService;
  users: UserService;
  presence: Pick<Presence, 'isOnline' | 'connectionsOfMany'>;
  /** When users were last seen (User.lastSeen); the transports stamp it. */
  lastSeen: LastSeen;
  /** Friends and shared-group members: who may see a user's presence. */
  contacts: Contacts;
  engine: DeliveryEngine;
  messages: MessageService;
  reads: ReadService;
  conversations: ConversationService;
  friends: FriendService;
  notifications: NotificationService;
  groups: GroupService;
  /** Cached user profiles for the user DataLoader (UserService writes invalidate them). */
  userCache: UserCache;
  /** Rate limits (RL_* in config.ts); resolvers take a point before the work. */
  limits: RateLimits;
  typing: TypingService;
}
