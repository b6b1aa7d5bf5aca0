import type { EntityManager } from '@mikro-orm/mariadb';
import { badInput, forbidden } from '../errors';

export interface ConversationRef {
  userId?: string | null;
  groupId?: string | null;
}

export interface Membership {
  conversationId: string;
  /** The member sees messages with visibleFrom < id <= visibleTo (no upper end while a member). */
  visibleFrom: string;
  visibleTo: string | null;
  active: boolean;
  peerId: string | null;
  groupId: string | null;
}

export const directKey = (a: string, b: string) => (BigInt(a) < BigInt(b) ? `${a}:${b}` : `${b}:${a}`);

/**
 * The caller's row in a conversation, found from what a client passes
 * (a peer's user id or a group id). null for a 1:1 conversation that has no
 * message yet; FORBIDDEN for a group the caller never belonged to.
 */
export async function findMembership(em: EntityManager, userId: string, ref: ConversationRef): Promise<Membership | null> {
  if (!ref.userId === !ref.groupId) throw badInput('exactly one of userId and groupId');
  const rows = ref.userId
    ? await em.getConnection().execute(
        `SELECT cm.conversation_id, cm.visible_from, cm.visible_to, cm.active FROM conversation c
           JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ? WHERE c.direct_key = ?`,
        [userId, directKey(userId, ref.userId)],
      )
    : await em.getConnection().execute(
        `SELECT conversation_id, visible_from, visible_to, active FROM conversation_member WHERE conversation_id = ? AND user_id = ?`,
        [ref.groupId, userId],
      );
  if (!rows.length) {
    if (ref.groupId) throw forbidden('you are not a member of this group');
    return null;
  }
  const r = rows[0];
  return {
    conversationId: String(r.conversation_id),
    visibleFrom: String(r.visible_from),
    visibleTo: r.visible_to === null ? null : String(r.visible_to),
    active: Boolean(r.active),
    peerId: ref.userId ?? null,
    groupId: ref.groupId ?? null,
  };
}
