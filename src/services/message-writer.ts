import { isDuplicateKey, type Sql, type SqlConnection } from '../db/sql';
import { flatParams, marks, unionRows } from '../db/sql-text';
import { isDeadlock } from '../delivery/deadlock';
import { type MessageRow, newMessageRow } from '../delivery/message-source';
import { ConversationKind, GroupRole, type MessageType } from '../entities/enums';
import { batchMoves, placeBatch } from './message-batch';
import { directKey } from './membership';

type Moves = ReturnType<typeof batchMoves>;

export interface WriteRequest {
  senderId: string;
  to: { userId?: string | null; groupId?: string | null };
  clientMsgId: string;
  type: MessageType;
  content: string;
  ext?: string | null;
}

interface Pending {
  req: WriteRequest;
  key: string;
  done: (row: MessageRow | null, err?: unknown) => void;
}

type Row = Record<string, unknown>;

const VALID_ROLES = new Set<number>(Object.values(GroupRole).filter((v): v is number => typeof v === 'number'));

/**
 * Group commit for D2. Sends that arrive while a transaction is in flight are
 * stored together by the next one: every conversation row they touch is locked,
 * each message takes `head + 1, + 2, …` in arrival order, one multi-row INSERT
 * stores them, and one statement each moves the heads and the senders' lastRead.
 * The whole transaction is two packets to MariaDB (and one fsync) for the batch.
 *
 * A request it cannot decide on its own answers null, and the caller stores it
 * alone on the one-message path, which gives the exact error or the stored
 * repeat (D1, D3): a first message of a conversation, a failed D1 check, a
 * group the sender is not in, a repeated clientMsgId. So every repeat, true
 * or a clash with another message, is told apart in one place
 * (MessageService.sendAlone, by repeatMismatch).
 */
export class MessageWriter {
  /** Committed batches and the messages they stored (the rest went the one-message path). */
  readonly stats = { batches: 0, stored: 0 };
  private pending: Pending[] = [];
  private inFlight = 0;
  /** When the newest transaction began (performance.now()). */
  private lastStart = 0;
  private scheduled = false;
  private overlapTimer: NodeJS.Timeout | undefined;

  /**
   * One transaction runs at a time, and sends that arrive meanwhile make the
   * next batch: the fewer transactions, the larger each batch, and the less
   * every message costs here and in MariaDB (a second transaction in
   * parallel made batches half as large and cost 9 % of the throughput). A
   * transaction running longer than overlapAfterMs (waiting on a row lock of
   * a markRead or a membership change, say) lets others start beside it, up
   * to maxInFlight, so one slow batch does not hold every send up.
   */
  constructor(
    private readonly pool: Sql,
    private readonly maxBatch = 128,
    private readonly maxInFlight = 4,
    private readonly overlapAfterMs = 10,
    /** How a batch learns its ids: 'auto' asks MariaDB once whether they are consecutive. */
    private idMode: 'auto' | 'consecutive' | 'read-back' = 'auto',
  ) {}

  write(req: WriteRequest): Promise<MessageRow | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, key: `${req.senderId}|${req.clientMsgId}`, done: (row, err) => (err ? reject(err) : resolve(row)) });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || !this.pending.length || this.inFlight >= this.maxInFlight) return;
    if (this.inFlight) {
      // Measured from the newest start: should that one have ended first, an older one
      // still running waits a little longer than it needs to, never less.
      const wait = this.lastStart + this.overlapAfterMs - performance.now();
      if (wait > 0) {
        this.overlapTimer ??= setTimeout(() => {
          this.overlapTimer = undefined;
          this.schedule();
        }, wait);
        return;
      }
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flushOne();
    });
  }

  private async flushOne(): Promise<void> {
    if (!this.pending.length || this.inFlight >= this.maxInFlight) return;
    // A repeated (sender, clientMsgId) waits for the next batch, where it finds the stored row
    // and goes the one-message path (a true repeat gets the receipt, anything else CONFLICT).
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const seen = new Set<string>();
    for (const p of this.pending) {
      if (seen.has(p.key) || batch.length >= this.maxBatch) rest.push(p);
      else {
        seen.add(p.key);
        batch.push(p);
      }
    }
    this.pending = rest;
    this.inFlight++;
    this.lastStart = performance.now();
    this.schedule();
    try {
      await this.storeBatch(batch);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async storeBatch(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.pool.withConnection((conn) => this.transaction(conn, batch.map((p) => p.req)));
        batch.forEach((p, i) => p.done(rows[i]));
        return;
      } catch (e) {
        if (isDeadlock(e) && attempt < 4) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
          continue;
        }
        // A clientMsgId stored meanwhile by another node, or a deadlock that kept coming back:
        // every request goes the one-message path, which sorts out each one.
        if (isDuplicate(e) || isDeadlock(e)) batch.forEach((p) => p.done(null));
        else batch.forEach((p) => p.done(null, e));
        return;
      }
    }
  }

  private async transaction(conn: SqlConnection, reqs: WriteRequest[]): Promise<Array<MessageRow | null>> {
    const d = this.pool.dialect;
    const direct = reqs.filter((r) => r.to.userId);
    const group = reqs.filter((r) => r.to.groupId);
    const q = new Statements();
    q.add('START TRANSACTION');
    const iDirect = direct.length
      ? q.add(
          // In direct_key order (the unique index), never by id: ORDER BY id had MariaDB scan, and lock, every conversation.
          `SELECT id, head_seq, direct_key FROM conversation WHERE direct_key IN (${marks(direct.length)})${d.forUpdate}`,
          direct.map((r) => directKey(r.senderId, r.to.userId!)),
        )
      : -1;
    const groupIds = [...new Set(group.map((r) => r.to.groupId!))];
    const groupSenders = [...new Set(group.map((r) => r.senderId))];
    // The membership check reads under the same lock that membership changes take.
    const iGroup = group.length
      ? q.add(
          `SELECT c.id, c.head_seq, cm.user_id, cm.role FROM conversation c
             LEFT JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.active = 1 AND cm.user_id IN (${marks(groupSenders.length)})
            WHERE c.id IN (${marks(groupIds.length)}) AND c.kind = ? ORDER BY c.id${d.forUpdate}`,
          [...groupSenders, ...groupIds, ConversationKind.GROUP],
        )
      : -1;
    const iDup = q.add(
      `SELECT sender_id, client_msg_id FROM message WHERE ${reqs.map(() => '(sender_id = ? AND client_msg_id = ?)').join(' OR ')}`,
      flatParams(reqs, (r) => [r.senderId, r.clientMsgId]),
    );
    // D1 for one-to-one: a friend the receiver has not blocked (FriendService.canMessage, for many pairs).
    const iFriends = direct.length
      ? q.add(
          `SELECT v.i, EXISTS(SELECT 1 FROM friendship f WHERE f.user_lo = v.lo AND f.user_hi = v.hi) AS friends,
                  COALESCE((SELECT s.blocked FROM friend_setting s WHERE s.user_id = v.r AND s.peer_id = v.s), 0) AS blocked
             FROM (${unionRows(direct.length, '? AS i, ? AS lo, ? AS hi, ? AS r, ? AS s')}) v`,
          flatParams(direct, (r, i) => {
            const [lo, hi] = ordered(r.senderId, r.to.userId!);
            return [i, lo, hi, r.to.userId!, r.senderId];
          }),
        )
      : -1;
    const results = await q.run(conn);
    const rowsOf = (i: number) => (i < 0 ? [] : (results[i] as Row[]));

    const heads = new Map<string, number>();
    const directConversations = new Map<string, string>();
    for (const r of rowsOf(iDirect)) {
      directConversations.set(String(r.direct_key), String(r.id));
      heads.set(String(r.id), Number(r.head_seq));
    }
    const groupMembers = new Set<string>();
    for (const r of rowsOf(iGroup)) {
      heads.set(String(r.id), Number(r.head_seq));
      if (r.user_id != null && VALID_ROLES.has(Number(r.role))) groupMembers.add(`${String(r.id)}|${String(r.user_id)}`);
    }
    const allowedDirect = new Set<number>();
    for (const r of rowsOf(iFriends)) if (Number(r.friends) && !Number(r.blocked)) allowedDirect.add(reqs.indexOf(direct[Number(r.i)]));
    const placed = placeBatch(reqs, {
      heads,
      directConversations,
      groupMembers,
      stored: new Set(rowsOf(iDup).map((r) => `${String(r.sender_id)}|${String(r.client_msg_id)}`)),
      allowedDirect,
    });
    const out: Array<MessageRow | null> = reqs.map(() => null);
    if (!placed.length) {
      await conn.query('ROLLBACK');
      return out;
    }
    const now = new Date();
    // The ids are filled in once the second packet has run.
    const rows = placed.map(({ index, conversationId, seq }) => newMessageRow('', conversationId, seq, reqs[index], now));
    const moves = batchMoves(reqs, placed);

    const w = new Statements();
    const iInsert = w.add(
      `INSERT INTO message (conversation_id, seq, sender_id, client_msg_id, type, receiver_id, group_id, content, ext, created_at) VALUES ${rows
        .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      flatParams(rows, (m) => [m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.receiver_id, m.group_id, m.content, m.ext, now]),
    );
    const ids =
      d.name === 'sqlite'
        ? await this.commitByReturning(conn, w, rows, moves, now)
        : (await this.consecutiveIds(conn))
          ? await this.commitByInsertId(conn, w, iInsert, rows, moves, now)
          : await this.commitByReadBack(conn, w, rows, moves, now);
    this.stats.batches++;
    this.stats.stored += rows.length;
    placed.forEach(({ index }, i) => {
      rows[i].id = ids[i];
      out[index] = rows[i];
    });
    return out;
  }

  /** The rows took ids LAST_INSERT_ID() + 0, 1, 2, … in the INSERT's order: no read-back, no subqueries. */
  private async commitByInsertId(conn: SqlConnection, w: Statements, iInsert: number, rows: MessageRow[], moves: Moves, now: Date): Promise<string[]> {
    const at = new Map(rows.map((m, i) => [`${m.conversation_id}|${m.seq}`, i]));
    const iHeads = w.add(
      // The batch's rows first, then each conversation by its key (STRAIGHT_JOIN: never a scan of conversation).
      `UPDATE (${unionRows(moves.heads.length, 'CAST(? AS UNSIGNED) AS id, ? AS head, ? AS off')}) v STRAIGHT_JOIN conversation c ON c.id = v.id
          SET c.head_seq = v.head, c.last_activity_at = ?, c.last_message_id = LAST_INSERT_ID() + v.off`,
      [...flatParams(moves.heads, (h) => [h.conversationId, h.head, at.get(`${h.conversationId}|${h.head}`)]), now],
    );
    const iReads = w.add(
      `UPDATE (${unionRows(moves.reads.length, 'CAST(? AS UNSIGNED) AS c, CAST(? AS UNSIGNED) AS u, ? AS seq, ? AS off')}) v
         STRAIGHT_JOIN conversation_member cm ON cm.conversation_id = v.c AND cm.user_id = v.u
          SET cm.last_read_id = LAST_INSERT_ID() + v.off, cm.last_read_seq = v.seq`,
      flatParams(moves.reads, (r) => [r.conversationId, r.userId, r.seq, at.get(`${r.conversationId}|${r.seq}`)]),
    );
    w.add('COMMIT');
    const written = await w.run(conn);
    this.checkMoves(written[iHeads], written[iReads], moves);
    const first = BigInt(String((written[iInsert] as { insertId: unknown }).insertId));
    return rows.map((_, i) => (first + BigInt(i)).toString());
  }

  /** Where ids need not be consecutive: each row's id is read back, and found by (conversation, seq) in the moves. */
  private async commitByReadBack(conn: SqlConnection, w: Statements, rows: MessageRow[], moves: Moves, now: Date): Promise<string[]> {
    const iIds = w.add(
      `SELECT id, conversation_id, seq FROM message WHERE ${rows.map(() => '(conversation_id = ? AND seq = ?)').join(' OR ')}`,
      flatParams(rows, (m) => [m.conversation_id, m.seq]),
    );
    const iHeads = w.add(
      `UPDATE (${unionRows(moves.heads.length, 'CAST(? AS UNSIGNED) AS id, ? AS head')}) v STRAIGHT_JOIN conversation c ON c.id = v.id
          SET c.head_seq = v.head, c.last_activity_at = ?,
              c.last_message_id = (SELECT m.id FROM message m WHERE m.conversation_id = v.id AND m.seq = v.head)`,
      [...flatParams(moves.heads, (h) => [h.conversationId, h.head]), now],
    );
    const iReads = w.add(
      `UPDATE (${unionRows(moves.reads.length, 'CAST(? AS UNSIGNED) AS c, CAST(? AS UNSIGNED) AS u, ? AS seq')}) v STRAIGHT_JOIN conversation_member cm ON cm.conversation_id = v.c AND cm.user_id = v.u
          SET cm.last_read_id = (SELECT m.id FROM message m WHERE m.conversation_id = v.c AND m.seq = v.seq), cm.last_read_seq = v.seq`,
      flatParams(moves.reads, (r) => [r.conversationId, r.userId, r.seq]),
    );
    w.add('COMMIT');
    const written = await w.run(conn);
    this.checkMoves(written[iHeads], written[iReads], moves);
    const byKey = new Map((written[iIds] as Row[]).map((r) => [`${String(r.conversation_id)}|${Number(r.seq)}`, String(r.id)]));
    return rows.map((m) => byKey.get(`${m.conversation_id}|${m.seq}`)!);
  }

  /**
   * SQLite: the INSERT answers its rows' ids (RETURNING), and the heads and
   * senders' rows are moved with them as values. The statements run in
   * process, one after another, so nothing is saved by one packet here.
   */
  private async commitByReturning(conn: SqlConnection, w: Statements, rows: MessageRow[], moves: Moves, now: Date): Promise<string[]> {
    const [inserted] = (await w.run(conn, ' RETURNING id, conversation_id, seq')) as [Row[]];
    const byKey = new Map(inserted.map((r) => [`${String(r.conversation_id)}|${Number(r.seq)}`, String(r.id)]));
    const idAt = (conversationId: string, seq: number) => byKey.get(`${conversationId}|${seq}`)!;
    const d = this.pool.dialect;
    const u = new Statements();
    const iHeads = u.add(
      d.updateFrom(
        'conversation',
        unionRows(moves.heads.length, 'CAST(? AS UNSIGNED) AS id, ? AS head, CAST(? AS UNSIGNED) AS mid'),
        [
          ['head_seq', 'v.head'],
          ['last_activity_at', '?'],
          ['last_message_id', 'v.mid'],
        ],
        't.id = v.id',
      ),
      // SQLite binds in text order: the SET's parameter comes before the derived table's.
      [now, ...flatParams(moves.heads, (h) => [h.conversationId, h.head, idAt(h.conversationId, h.head)])],
    );
    const iReads = u.add(
      d.updateFrom(
        'conversation_member',
        unionRows(moves.reads.length, 'CAST(? AS UNSIGNED) AS c, CAST(? AS UNSIGNED) AS u, ? AS seq, CAST(? AS UNSIGNED) AS mid'),
        [
          ['last_read_id', 'v.mid'],
          ['last_read_seq', 'v.seq'],
        ],
        't.conversation_id = v.c AND t.user_id = v.u',
      ),
      flatParams(moves.reads, (r) => [r.conversationId, r.userId, r.seq, idAt(r.conversationId, r.seq)]),
    );
    u.add('COMMIT');
    const written = await u.run(conn);
    this.checkMoves(written[iHeads], written[iReads], moves);
    return rows.map((m) => idAt(m.conversation_id, m.seq));
  }

  /** The locks make both hold; should one ever fail, the batch is committed anyway and the senders' retries with the same clientMsgId return the stored messages (D3). */
  private checkMoves(heads: unknown, reads: unknown, moves: Moves): void {
    if (affected(heads) !== moves.heads.length || affected(reads) !== moves.reads.length) {
      throw new Error('message batch: a conversation head or a sender row did not move');
    }
  }

  /**
   * Whether a multi-row INSERT takes consecutive ids (InnoDB's autoinc lock
   * modes 0 and 1 guarantee it for inserts of a known row count; mode 2
   * interleaves concurrent ones), asked once. Otherwise the ids are read back.
   */
  private async consecutiveIds(conn: SqlConnection): Promise<boolean> {
    if (this.idMode === 'auto') {
      const [v] = await conn.query('SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS inc');
      this.idMode = Number(v.mode) <= 1 && Number(v.inc) === 1 ? 'consecutive' : 'read-back';
    }
    return this.idMode === 'consecutive';
  }
}

/** Statements joined into one multi-statement query (one packet, one round trip). */
class Statements {
  private readonly sql: string[] = [];
  private readonly params: unknown[][] = [];

  /** Returns the index of this statement's result. */
  add(sql: string, params: unknown[] = []): number {
    this.sql.push(sql);
    this.params.push(params);
    return this.sql.length - 1;
  }

  /**
   * A failed statement ends the packet there; whatever the transaction did so
   * far is rolled back. `suffix` is appended to the first statement.
   */
  async run(conn: SqlConnection, suffix = ''): Promise<unknown[]> {
    try {
      return await conn.queryMany(this.sql.map((sql, i) => [i === 0 ? sql + suffix : sql, this.params[i]] as const));
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
}

const ordered = (a: string, b: string): [string, string] => (BigInt(a) < BigInt(b) ? [a, b] : [b, a]);
const affected = (r: unknown) => Number((r as { affectedRows?: number | bigint }).affectedRows ?? 0);
export const isDuplicate = isDuplicateKey;
