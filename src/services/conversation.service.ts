import type { EntityManager } from '@mikro-orm/knex';
import { MESSAGE_COLUMNS, type MessageRow, toMessageRow } from '../delivery/message-source';

export interface ConversationView {
  peerId: string | null;
  groupId: string | null;
  lastMessage: MessageRow | null;
  unreadCount: number;
  myLastRead: string | null;
  peerLastRead: string | null;
}

/**
 * The caller's conversation list: every 1:1 conversation with a message and
 * every group the caller is in, newest activity first. D18: unread counts
 * the messages of my membership windows (every stretch of membership, not
 * only the current one) with seq above my lastRead's (my own sends move
 * lastRead, D2); messages sent while I was out of the group are in no window
 * and never count. Seqs are contiguous per conversation, so a window
 * (fromSeq, toSeq] holds toSeq - fromSeq messages and the count reads no
 * message row: the open window gives head - max(fromSeq, lastReadSeq), each
 * earlier window toSeq - max(fromSeq, lastReadSeq) when positive.
 */
export class ConversationService {
  constructor(private readonly em: () => EntityManager) {}

  async list(userId: string, limit = 200): Promise<ConversationView[]> {
    const sql = this.em().getConnection();
    const rows: Array<Record<string, any>> = await sql.execute(
      `SELECT c.id, c.kind, c.head_seq, c.last_message_id, me.peer_id, me.last_read_id, me.last_read_seq, me.visible_from_seq,
              peer.last_read_id AS peer_last_read,
              (SELECT COALESCE(SUM(GREATEST(0, CAST(w.visible_to_seq AS SIGNED) - CAST(GREATEST(w.visible_from_seq, me.last_read_seq) AS SIGNED))), 0)
                 FROM membership_window w WHERE w.user_id = me.user_id AND w.conversation_id = me.conversation_id) AS earlier_unread
         FROM conversation_member me
         JOIN conversation c ON c.id = me.conversation_id
         LEFT JOIN conversation_member peer ON peer.conversation_id = c.id AND peer.user_id = me.peer_id
        WHERE me.user_id = ? AND me.active = 1
        ORDER BY c.last_activity_at DESC, c.id DESC
        LIMIT ?`,
      [userId, limit],
    );
    const lastIds = rows.map((r) => r.last_message_id).filter((id) => id !== null);
    const messages: MessageRow[] = lastIds.length
      ? ((await sql.execute(`SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.id IN (${lastIds.map(() => '?').join(',')})`, lastIds)) as Record<string, unknown>[]).map(toMessageRow)
      : [];
    const byId = new Map(messages.map((m) => [String(m.id), m]));
    return rows.map((r) => ({
      peerId: r.peer_id === null ? null : String(r.peer_id),
      groupId: r.peer_id === null ? String(r.id) : null,
      lastMessage: r.last_message_id === null ? null : (byId.get(String(r.last_message_id)) ?? null),
      unreadCount: Number(r.earlier_unread) + Math.max(0, Number(r.head_seq) - Math.max(Number(r.visible_from_seq), Number(r.last_read_seq))),
      myLastRead: r.last_read_id === null ? null : String(r.last_read_id),
      peerLastRead: r.peer_last_read == null ? null : String(r.peer_last_read),
    }));
  }
}
