import type { EntityManager } from '@mikro-orm/knex';
import { dialectOf } from '../db/dialect';
import type { GroupRole } from '../entities/enums';
import { badInput } from '../errors';
import { marks } from '../db/sql-text';

export interface ConversationRef {
  userId?: string | null;
  groupId?: string | null;
}

/**
 * One membership window: the member sees the conversation's messages with
 * from < id <= to, which are exactly those with fromSeq < seq <= toSeq.
 * `to`/`toSeq` are null while the window is open (she is a member now).
 */
export interface MembershipWindow {
  from: string;
  to: string | null;
  fromSeq: number;
  toSeq: number | null;
}

/**
 * A user's membership of one conversation. What she can see is the union of
 * her windows: leaving or being removed closes the last one, re-joining opens
 * a new one, and no window is ever shortened or dropped.
 */
export interface Membership {
  conversationId: string;
  /** Every window, oldest first, disjoint; the last is the current (or last) one. */
  windows: MembershipWindow[];
  /** A member now (the last window is open). */
  active: boolean;
  peerId: string | null;
  groupId: string | null;
}

/** The head of a conversation read under its row lock: its last message id ('0' if none) and seq. */
export interface Head {
  lastMessageId: string;
  headSeq: number;
}

export const directKey = (a: string, b: string) => (BigInt(a) < BigInt(b) ? `${a}:${b}` : `${b}:${a}`);

type Row = Record<string, unknown>;
const WINDOW_COLUMNS = 'visible_from, visible_to, visible_from_seq, visible_to_seq';
const windowColumns = (table: string) => WINDOW_COLUMNS.split(', ').map((c) => `${table}.${c}`).join(', ');

/** Whether message id `id` lies in one of the windows. */
export function inWindows(windows: readonly MembershipWindow[], id: string): boolean {
  const n = BigInt(id);
  return windows.some((w) => BigInt(w.from) < n && (w.to === null || n <= BigInt(w.to)));
}

/**
 * A SQL condition true for the ids of `column` inside any of the windows, and
 * its parameters; `FALSE` when there are none. Each window is one id range,
 * so on message (conversation_id, id) it reads as a multi-range scan.
 */
export function windowsCondition(column: string, windows: readonly MembershipWindow[]): { sql: string; params: string[] } {
  if (!windows.length) return { sql: 'FALSE', params: [] };
  const params: string[] = [];
  const parts = windows.map((w) => {
    params.push(w.from);
    if (w.to === null) return `${column} > ?`;
    params.push(w.to);
    return `(${column} > ? AND ${column} <= ?)`;
  });
  return { sql: `(${parts.join(' OR ')})`, params };
}

/**
 * The caller's membership of a conversation, found from what a client passes
 * (a peer's user id or a group id), with every window she ever had. null
 * when there is none: a 1:1 conversation that has no message yet, a group
 * the caller never belonged to, an id nobody has (callers give one answer
 * for all of them). One statement, so one snapshot of all windows.
 */
export async function findMembership(em: EntityManager, userId: string, ref: ConversationRef): Promise<Membership | null> {
  if (!ref.userId === !ref.groupId) throw badInput('exactly one of userId and groupId');
  const rows: Row[] = ref.userId
    ? await em.getConnection().execute(
        `SELECT cm.conversation_id, cm.active, ${windowColumns('cm')} FROM conversation c
           JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ? WHERE c.direct_key = ?
         UNION ALL
         SELECT w.conversation_id, NULL, ${windowColumns('w')} FROM conversation c
           JOIN membership_window w ON w.user_id = ? AND w.conversation_id = c.id WHERE c.direct_key = ?`,
        [userId, directKey(userId, ref.userId), userId, directKey(userId, ref.userId)],
      )
    : await em.getConnection().execute(
        `SELECT conversation_id, active, ${WINDOW_COLUMNS} FROM conversation_member WHERE conversation_id = ? AND user_id = ?
         UNION ALL
         SELECT conversation_id, NULL, ${WINDOW_COLUMNS} FROM membership_window WHERE user_id = ? AND conversation_id = ?`,
        [ref.groupId, userId, userId, ref.groupId],
      );
  const current = rows.find((r) => r.active !== null);
  if (!current) return null;
  return {
    conversationId: String(current.conversation_id),
    windows: rows.map(toWindow).sort((a, b) => (BigInt(a.from) < BigInt(b.from) ? -1 : 1)),
    active: Boolean(Number(current.active)),
    peerId: ref.userId ?? null,
    groupId: ref.groupId ?? null,
  };
}

function toWindow(r: Row): MembershipWindow {
  return {
    from: String(r.visible_from),
    to: r.visible_to == null ? null : String(r.visible_to),
    fromSeq: Number(r.visible_from_seq),
    toSeq: r.visible_to_seq == null ? null : Number(r.visible_to_seq),
  };
}

/**
 * Opens a window at the head for each of `ids` (new members and former ones
 * alike); run under the conversation row lock, which numbers messages, so
 * the head is exactly the window's start. A former member's closed window is
 * kept: if messages were sent while she was out it moves to
 * membership_window, else the new window simply continues it (no gap, so no
 * second row). last_read is left as it was: unread messages of an earlier
 * window stay unread, and the gap's messages never count (they are in no
 * window).
 */
export async function openWindows(em: EntityManager, groupId: string, ids: string[], role: GroupRole, head: Head, now: Date): Promise<void> {
  if (!ids.length) return;
  await em.execute(
    `INSERT INTO membership_window (user_id, conversation_id, ${WINDOW_COLUMNS})
     SELECT user_id, conversation_id, ${WINDOW_COLUMNS} FROM conversation_member
      WHERE conversation_id = ? AND active = 0 AND visible_to > visible_from AND visible_to < ? AND user_id IN (${marks(ids.length)})`,
    [groupId, head.lastMessageId, ...ids],
  );
  // MariaDB assigns left to right and SQLite from the old row: both starts test visible_to before it is cleared, in both.
  await em.execute(
    dialectOf(em).upsert(
      `INSERT INTO conversation_member (conversation_id, user_id, role, active, joined_at, ${WINDOW_COLUMNS})
       VALUES ${ids.map(() => '(?, ?, ?, 1, ?, ?, NULL, ?, NULL)').join(', ')}`,
      ['conversation_id', 'user_id'],
      [
        ['role', 'NEW(role)'],
        ['active', '1'],
        ['joined_at', 'NEW(joined_at)'],
        ['visible_from_seq', 'CASE WHEN visible_to < NEW(visible_from) THEN NEW(visible_from_seq) ELSE visible_from_seq END'],
        ['visible_from', 'CASE WHEN visible_to < NEW(visible_from) THEN NEW(visible_from) ELSE visible_from END'],
        ['visible_to', 'NULL'],
        ['visible_to_seq', 'NULL'],
      ],
    ),
    ids.flatMap((id) => [groupId, id, role, now, head.lastMessageId, head.headSeq]),
  );
}

/**
 * Closes the open windows of `ids` at the head (leave, removal, dissolve;
 * under the conversation row lock). Every message up to the head stays
 * visible to them for good.
 */
export async function closeWindows(em: EntityManager, groupId: string, ids: string[], head: Head): Promise<void> {
  if (!ids.length) return;
  await em.execute(
    `UPDATE conversation_member SET active = 0, visible_to = ?, visible_to_seq = ?
      WHERE conversation_id = ? AND active = 1 AND user_id IN (${marks(ids.length)})`,
    [head.lastMessageId, head.headSeq, groupId, ...ids],
  );
}
