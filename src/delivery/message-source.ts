import { fromSqlDateTime } from '../db/sql-time';
import { type CursorRow, type Sql, toCursor } from './cursor-store';
import type { Cursor } from './rules';

/** A stored message as raw SQL returns it (BIGINTs as strings). */
export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  type: number;
  receiver_id: string | null;
  group_id: string | null;
  content: string;
  ext: string | null;
  created_at: Date;
}

/**
 * Raw queries return BIGINTs as numbers or bigints and DATETIMEs as
 * 'YYYY-MM-DD HH:MM:SS.mmm' strings in UTC (the ORM's connection and the
 * pool alike): ids become decimal strings and times Dates here, once, for
 * every reader of messages.
 */
export function toMessageRow(r: Record<string, unknown>): MessageRow {
  const id = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(r.id),
    conversation_id: String(r.conversation_id),
    seq: Number(r.seq),
    sender_id: String(r.sender_id),
    client_msg_id: String(r.client_msg_id),
    type: Number(r.type),
    receiver_id: id(r.receiver_id),
    group_id: id(r.group_id),
    content: String(r.content),
    ext: r.ext === null || r.ext === undefined ? null : String(r.ext),
    created_at: fromSqlDateTime(r.created_at),
  };
}

/** The row of a message just stored, as a read would return it. */
export function newMessageRow(
  id: string,
  conversationId: string,
  seq: number,
  m: { senderId: string; clientMsgId: string; type: number; to: { userId?: string | null; groupId?: string | null }; content: string; ext?: string | null },
  createdAt: Date,
): MessageRow {
  return {
    id,
    conversation_id: conversationId,
    seq,
    sender_id: m.senderId,
    client_msg_id: m.clientMsgId,
    type: m.type,
    receiver_id: m.to.userId ?? null,
    group_id: m.to.groupId ?? null,
    content: m.content,
    ext: m.ext ?? null,
    created_at: createdAt,
  };
}

/**
 * One membership window of visible message ids: (visible_from, visible_to],
 * visible_to null while open. A user has one per stretch of membership of a
 * conversation (conversation_member holds the latest, membership_window the
 * earlier ones); they never overlap.
 */
export interface Membership {
  conversation_id: unknown;
  visible_from: unknown;
  visible_to: unknown;
}

export const MESSAGE_COLUMNS =
  'm.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.receiver_id, m.group_id, m.content, m.ext, m.created_at';

/**
 * Reads messages for delivery. Messages never change once stored, so the
 * rows a job needs are kept in a small in-process cache (the sending node
 * primes it, and usually runs the jobs too).
 */
export class MessageSource {
  private readonly cache = new Map<string, MessageRow>();

  constructor(private readonly sql: () => Sql, private readonly cacheSize = 20_000) {}

  remember(row: MessageRow): void {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(row.id, row);
  }

  async load(id: string): Promise<MessageRow | null> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const rows: Record<string, unknown>[] = await this.sql().execute(`SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.id = ?`, [id]);
    if (!rows.length) return null;
    const row = toMessageRow(rows[0]);
    this.remember(row);
    return row;
  }

  /**
   * The start of a sync read in one statement: the device's cursor, and all
   * of the user's membership windows, current and earlier, that reach above
   * its lastAck (for visibleAfter). Both come from one snapshot, read before
   * any message row (D13a: the token's version must predate the rows).
   * Undefined when the device has no cursor row yet (CursorStore.get makes it).
   */
  async syncStart(userId: string, deviceId: string): Promise<{ cursor: Cursor; windows: Membership[] } | undefined> {
    const rows: Array<Membership & CursorRow> = await this.sql().execute(
      `SELECT c.last_ack, c.last_ack_err, c.version, cm.conversation_id, cm.visible_from, cm.visible_to
         FROM device_cursor c
         LEFT JOIN conversation_member cm ON cm.user_id = c.user_id AND (cm.visible_to IS NULL OR cm.visible_to > c.last_ack)
        WHERE c.user_id = ? AND c.device_id = ?
       UNION ALL
       SELECT c.last_ack, c.last_ack_err, c.version, w.conversation_id, w.visible_from, w.visible_to
         FROM device_cursor c
         JOIN membership_window w ON w.user_id = c.user_id AND w.visible_to > c.last_ack
        WHERE c.user_id = ? AND c.device_id = ?`,
      [userId, deviceId, userId, deviceId],
    );
    if (!rows.length) return undefined;
    return { cursor: toCursor(rows[0]), windows: rows.filter((m) => m.conversation_id != null) };
  }

  /**
   * D12: the device's messages with id > after, oldest first, from every
   * conversation the user belongs to or belonged to, inside the union of her
   * membership windows (visible_from, visible_to]. One ordered range scan on
   * message (conversation_id, id) per window, each stopping after `limit`
   * rows, merged by id: no OFFSET, no sort of everything above the cursor.
   * Windows never overlap, so no message comes twice.
   */
  async visibleAfter(userId: string, after: bigint, limit: number, windows?: Membership[]): Promise<MessageRow[]> {
    const members: Membership[] =
      windows ??
      (await this.sql().execute(
        `SELECT conversation_id, visible_from, visible_to FROM conversation_member WHERE user_id = ? AND (visible_to IS NULL OR visible_to > ?)
         UNION ALL
         SELECT conversation_id, visible_from, visible_to FROM membership_window WHERE user_id = ? AND visible_to > ?`,
        [userId, after.toString(), userId, after.toString()],
      ));
    if (!members.length) return [];
    const parts: string[] = [];
    const params: unknown[] = [];
    const sql = this.sql();
    for (const m of members) {
      const from = BigInt(String(m.visible_from));
      parts.push(
        sql.dialect.unionMember(
          `SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.conversation_id = ? AND m.id > ?${m.visible_to === null ? '' : ' AND m.id <= ?'} ORDER BY m.id LIMIT ?`,
        ),
      );
      params.push(String(m.conversation_id), (from > after ? from : after).toString());
      if (m.visible_to !== null) params.push(String(m.visible_to));
      params.push(limit);
    }
    const rows: Record<string, unknown>[] = await sql.execute(
      `SELECT * FROM (${parts.join(' UNION ALL ')}) u ORDER BY u.id LIMIT ?`,
      [...params, limit],
    );
    return rows.map(toMessageRow);
  }
}
