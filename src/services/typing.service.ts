import { badInput, notFound } from '../errors';
import type { AppPubSub } from '../pubsub';
import type { FriendService } from './friend.service';
import type { GroupService } from './group.service';

/** How long a client shows a typing notice without a fresh one, milliseconds. */
export const TYPING_TTL_MS = 6000;

/** What a typing notice's receivers get: who types, where (`groupId` null: to them directly), for how long. */
export interface TypingNotice {
  userId: string;
  groupId: string | null;
  ttlMs: number;
}

/**
 * Typing notices: best effort, stored nowhere, never replayed. A notice goes
 * where a message from the same sender could go: to a friend who has not
 * blocked her, or to the other members of a group she is in now. Errors: as
 * `sendMessage` would give for the same conversation.
 */
export class TypingService {
  constructor(
    private readonly friends: FriendService,
    private readonly groups: GroupService,
    private readonly pubSub: AppPubSub,
  ) {}

  async notify(userId: string, to: { userId?: string; groupId?: string }): Promise<void> {
    if (to.userId) {
      if (to.userId === userId) throw badInput('you cannot message yourself');
      await this.friends.canMessage(userId, to.userId);
      this.pubSub.publish('TYPING', to.userId, { userId, groupId: null, ttlMs: TYPING_TTL_MS });
      return;
    }
    const members = await this.groups.memberIds(to.groupId!);
    // As for a send: a group that is not hers is one that does not exist.
    if (!members.includes(userId)) throw notFound('group');
    const notice = { userId, groupId: to.groupId!, ttlMs: TYPING_TTL_MS };
    for (const m of members) if (m !== userId) this.pubSub.publish('TYPING', m, notice);
  }
}
