import type { EntityManager } from '@mikro-orm/knex';
import { marks } from '../db/sql-text';

type Row = Record<string, unknown>;

/**
 * Who counts as a contact of a user, for presence (`User.online`,
 * `User.lastSeen`): her friends, and the people who are members now of a
 * live group she is a member of now. A block does not change it: hiding
 * presence from a blocked friend would tell him of the block.
 */
export class Contacts {
  constructor(private readonly em: () => EntityManager) {}

  /**
   * Which of ids are contacts of viewerId, in one statement (friendship by
   * its two keys, shared groups by the viewer's memberships and the group's
   * primary key), whatever the number of ids.
   */
  async among(viewerId: string, ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const m = marks(ids.length);
    const rows: Row[] = await this.em().execute(
      `SELECT user_hi AS id FROM friendship WHERE user_lo = ? AND user_hi IN (${m})
       UNION SELECT user_lo FROM friendship WHERE user_hi = ? AND user_lo IN (${m})
       UNION SELECT o.user_id FROM conversation_member me
         JOIN chat_group g ON g.id = me.conversation_id AND g.dissolved_at IS NULL
         JOIN conversation_member o ON o.conversation_id = me.conversation_id AND o.active = 1 AND o.user_id IN (${m})
        WHERE me.user_id = ? AND me.active = 1`,
      [viewerId, ...ids, viewerId, ...ids, ...ids, viewerId],
    );
    return new Set(rows.map((r) => String(r.id)));
  }
}
