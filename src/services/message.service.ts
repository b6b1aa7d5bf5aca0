import type { EntityManager } from '@mikro-orm/knex';
import { affectedRows, type Run, type Sql } from '../db/sql';
import { isDeadlock } from '../delivery/deadlock';
import type { DeliveryEngine } from '../delivery/engine';
import { MESSAGE_COLUMNS, type MessageRow, newMessageRow, toMessageRow } from '../delivery/message-source';
import { ConversationKind, GroupRole, MessageType } from '../entities/enums';
import { AppError, ErrorCode, badInput, notFound } from '../errors';
import { directKey, findMembership } from './membership';
import { repeatMismatch } from './message-batch';
import { isDuplicate, MessageWriter } from './message-writer';
import { checkOptionalText, checkText, TEXT, type TextRule } from './text';

export interface SendInput {
  to: { userId?: string | null; groupId?: string | null };
  clientMsgId: string;
  type: MessageType;
  content: string;
  ext?: string | null;
}

export interface Page {
  messages: MessageRow[];
  hasMore: boolean;
}


class NoConversationYet extends Error {}

/** What sending reports (metrics); wired by the composition root. */
export interface SendMetrics {
  /** A message was stored (a repeated clientMsgId is not counted). */
  stored(): void;
}

/**
 * Stores messages (D1-D4) and reads history. The engine delivers them; this
 * service never pushes by itself.
 */
export class MessageService {
  private readonly writer: MessageWriter;

  constructor(
    private readonly em: () => EntityManager,
    private readonly pool: Sql,
    private readonly engine: DeliveryEngine,
    /** D1: throws NOT_FRIENDS unless sender may message receiver (a block answers as a non-friend). */
    private readonly canMessage: (senderId: string, receiverId: string) => Promise<void>,
    limits = { content: 4096, ext: 1024 },
    private readonly metrics: SendMetrics = { stored: () => undefined },
  ) {
    this.writer = new MessageWriter(pool);
    this.rules = { content: { ...TEXT.content, max: limits.content }, ext: { ...TEXT.ext, max: limits.ext } };
  }

  /** The text rules of content and ext, with this service's limits (code points). */
  private readonly rules: { content: TextRule; ext: TextRule };
  /** The last send in progress per "sender|clientMsgId", settled (never rejected). */
  private readonly sending = new Map<string, Promise<void>>();

  /** How well sends are being grouped into transactions. */
  get writeStats(): { batches: number; stored: number } {
    return { ...this.writer.stats };
  }

  async send(sender: { userId: string; deviceId: string }, input: SendInput): Promise<MessageRow> {
    this.validate(sender.userId, input);
    // Sends of one (sender, clientMsgId) on this node run one after another, in arrival order: a
    // repeat then finds the first one's row (D3), and a different message under that clientMsgId
    // gets CONFLICT however the two would have been batched. Across nodes the unique key decides.
    const key = `${sender.userId}|${input.clientMsgId}`;
    const previous = this.sending.get(key);
    const result = previous ? previous.then(() => this.sendOnce(sender, input)) : this.sendOnce(sender, input);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.sending.set(key, settled);
    try {
      return await result;
    } finally {
      if (this.sending.get(key) === settled) this.sending.delete(key);
    }
  }

  private async sendOnce(sender: { userId: string; deviceId: string }, input: SendInput): Promise<MessageRow> {
    // Most sends are stored together with whatever else is being sent (group commit);
    // what the batch cannot decide alone comes back null and is stored on its own.
    const stored = await this.writer.write({ senderId: sender.userId, ...input });
    if (stored) {
      this.metrics.stored();
      return this.deliver(stored, sender.deviceId);
    }
    return this.sendAlone(sender, input);
  }

  /**
   * D1-D3 for one message, with the exact error for each refusal. Every
   * repeated clientMsgId ends here (the batch leaves them out), so this is
   * the one place that tells a repeat from a clash.
   */
  private async sendAlone(sender: { userId: string; deviceId: string }, input: SendInput): Promise<MessageRow> {
    // D3 first: a repeat gets the stored receipt whatever changed since (a block, say), and
    // a clash is refused before anything is written (not even a first conversation row).
    const earlier = await this.byClientId(sender.userId, input.clientMsgId);
    if (earlier) return this.deliver(this.repeatOf(earlier, sender.userId, input), sender.deviceId);
    if (input.to.userId) await this.canMessage(sender.userId, input.to.userId);
    let row: MessageRow;
    try {
      row = await this.store(sender.userId, input);
      this.metrics.stored();
    } catch (e) {
      if (!isDuplicate(e)) throw e;
      // Stored meanwhile by a concurrent send: (sender, clientMsgId) is unique, and the stored row answers.
      const stored = await this.byClientId(sender.userId, input.clientMsgId);
      if (!stored) throw e;
      row = this.repeatOf(stored, sender.userId, input);
    }
    return this.deliver(row, sender.deviceId);
  }

  /** D3: the stored message when the send repeats it exactly, else CONFLICT naming what differs. */
  private repeatOf(stored: MessageRow, senderId: string, input: SendInput): MessageRow {
    const differs = repeatMismatch(stored, { senderId, ...input });
    if (!differs.length) return stored;
    throw new AppError(ErrorCode.CONFLICT, `clientMsgId already used for a different message (its ${differs.join(', ')} differ${differs.length === 1 ? 's' : ''})`, {
      clientMsgId: input.clientMsgId,
      differs,
    });
  }

  /** D4: the message is returned only once its delivery is enqueued. */
  private async deliver(row: MessageRow, deviceId: string): Promise<MessageRow> {
    try {
      await this.engine.enqueue(row, deviceId);
    } catch {
      throw new AppError(ErrorCode.UNAVAILABLE, 'the message is stored but its delivery could not be queued: send it again with the same clientMsgId', { messageId: row.id });
    }
    return row;
  }

  private validate(senderId: string, input: SendInput): void {
    const { userId, groupId } = input.to;
    if (!userId === !groupId) throw badInput('to needs exactly one of userId and groupId');
    if (userId === senderId) throw badInput('you cannot message yourself');
    checkText(input.clientMsgId, TEXT.clientMsgId);
    if (!Object.values(MessageType).includes(input.type)) throw badInput('unknown message type');
    checkText(input.content, this.rules.content);
    checkOptionalText(input.ext, this.rules.ext);
  }

  private async byClientId(senderId: string, clientMsgId: string): Promise<MessageRow | null> {
    const rows: Record<string, unknown>[] = await this.pool.execute(
      `SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.sender_id = ? AND m.client_msg_id = ?`,
      [senderId, clientMsgId],
    );
    return rows.length ? toMessageRow(rows[0]) : null;
  }

  /** D2 with a bounded retry when MariaDB picks this transaction as a deadlock victim (it rolled back; nothing is stored). */
  private async store(senderId: string, input: SendInput): Promise<MessageRow> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.storeOnce(senderId, input);
      } catch (e) {
        if (e instanceof NoConversationYet && attempt < 4) {
          // Both sides' first messages create the row at once and one may be the deadlock victim: it
          // rolled back, the other created the row (or the next round creates it again).
          await this.createDirect(senderId, input.to.userId!).catch((err) => {
            if (!isDeadlock(err)) throw err;
          });
          continue;
        }
        if (attempt >= 4 || !isDeadlock(e)) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  /** A one-to-one conversation and both member rows (idempotent; no locking read, so no gap locks). */
  private createDirect(a: string, b: string): Promise<void> {
    const now = new Date();
    const ignore = this.pool.dialect.insertIgnore;
    return this.pool.transaction(async (run) => {
      await run(`${ignore} INTO conversation (kind, direct_key, last_activity_at) VALUES (?, ?, ?)`, [ConversationKind.DIRECT, directKey(a, b), now]);
      const [conv] = await run(`SELECT id FROM conversation WHERE direct_key = ?`, [directKey(a, b)]);
      await run(
        `${ignore} INTO conversation_member (conversation_id, user_id, peer_id, active, joined_at) VALUES (?, ?, ?, 1, ?), (?, ?, ?, 1, ?)`,
        [conv.id, a, b, now, conv.id, b, a, now],
      );
    });
  }

  /** D2: one transaction, conversation row locked, seq = head + 1, sender's lastRead moved. */
  private storeOnce(senderId: string, input: SendInput): Promise<MessageRow> {
    const { forUpdate } = this.pool.dialect;
    return this.pool.transaction(async (run) => {
      const now = new Date();
      let conv: { id: unknown; head_seq: unknown; role?: unknown } | undefined;
      if (input.to.userId) {
        [conv] = await run(`SELECT id, head_seq FROM conversation WHERE direct_key = ?${forUpdate}`, [directKey(senderId, input.to.userId)]);
        // The first message creates the conversation outside this transaction and comes back:
        // a locking read of a missing key takes gap locks that deadlock concurrent first messages.
        if (!conv) throw new NoConversationYet();
      } else {
        // The membership check reads under the same lock that membership changes take.
        [conv] = await run(
          `SELECT c.id, c.head_seq, cm.role FROM conversation c
             LEFT JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ? AND cm.active = 1
            WHERE c.id = ? AND c.kind = ?${forUpdate}`,
          [senderId, input.to.groupId, ConversationKind.GROUP],
        );
        // One answer for a missing group and one the sender is not in: an id tells nothing about others.
        if (!conv || conv.role == null || !Object.values(GroupRole).includes(Number(conv.role))) throw notFound('group');
      }
      const conversationId = String(conv!.id);
      const seq = Number(conv!.head_seq) + 1;
      const res = await run(
        `INSERT INTO message (conversation_id, seq, sender_id, client_msg_id, type, receiver_id, group_id, content, ext, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [conversationId, seq, senderId, input.clientMsgId, input.type, input.to.userId ?? null, input.to.groupId ?? null, input.content, input.ext ?? null, now],
      );
      const id = String(res.insertId);
      // Both rows change on every send; anything else would leave the head behind (rolled back).
      if ((await this.moveHead(run, conversationId, senderId, id, seq, now)) !== 2) {
        throw new Error(`conversation ${conversationId}: head or sender row not moved`);
      }
      return newMessageRow(id, conversationId, seq, { senderId, ...input }, now);
    });
  }

  /**
   * The conversation's head and the sender's read cursor after a send; answers
   * the rows changed (2). MariaDB does both in one statement; SQLite has no
   * multi-table UPDATE, so there it is two.
   */
  private async moveHead(run: Run, conversationId: string, senderId: string, id: string, seq: number, now: Date): Promise<number> {
    if (this.pool.dialect.name === 'mariadb') {
      return affectedRows(
        await run(
          `UPDATE conversation c JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ?
              SET c.head_seq = ?, c.last_message_id = ?, c.last_activity_at = ?, cm.last_read_id = ?, cm.last_read_seq = ?
            WHERE c.id = ?`,
          [senderId, seq, id, now, id, seq, conversationId],
        ),
      );
    }
    const head = await run('UPDATE conversation SET head_seq = ?, last_message_id = ?, last_activity_at = ? WHERE id = ?', [seq, id, now, conversationId]);
    const read = await run('UPDATE conversation_member SET last_read_id = ?, last_read_seq = ? WHERE conversation_id = ? AND user_id = ?', [
      id,
      seq,
      conversationId,
      senderId,
    ]);
    return affectedRows(head) + affectedRows(read);
  }

  /**
   * One conversation's messages inside the caller's membership windows (all
   * of them: what she could see once stays visible after leaving, removal or
   * re-joining): `before` scrolls back (ids below it), `afterSeq` fills a gap
   * (seq above it; the seqs of messages sent while she was out are skipped,
   * they are in no window), neither gives the newest page. Always returned
   * oldest first. One bounded range scan per window, merged. A conversation
   * that is not the caller's (a stranger, a group she never joined) or does
   * not exist gives an empty page, as one without messages: one answer.
   */
  async history(userId: string, withWhom: { userId?: string | null; groupId?: string | null }, opts: { before?: string | null; afterSeq?: number | null; limit: number }): Promise<Page> {
    if (opts.before && opts.afterSeq != null) throw badInput('pass before or afterSeq, not both');
    const limit = Math.min(Math.max(1, opts.limit), 200);
    const member = await findMembership(this.em(), userId, withWhom);
    if (!member) return { messages: [], hasMore: false };
    const parts: string[] = [];
    const params: unknown[] = [];
    const c = member.conversationId;
    if (opts.afterSeq != null) {
      const afterSeq = opts.afterSeq;
      for (const w of member.windows.filter((x) => x.toSeq === null || x.toSeq > afterSeq)) {
        parts.push(`SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.conversation_id = ? AND m.seq > ?${w.toSeq === null ? '' : ' AND m.seq <= ?'} ORDER BY m.seq LIMIT ?`);
        params.push(c, Math.max(afterSeq, w.fromSeq), ...(w.toSeq === null ? [] : [w.toSeq]), limit + 1);
      }
    } else {
      const before = opts.before ? BigInt(opts.before) : null;
      for (const w of member.windows.filter((x) => before === null || BigInt(x.from) + 1n < before)) {
        const to = w.to === null ? before : before === null || BigInt(w.to) < before ? BigInt(w.to) + 1n : before;
        parts.push(`SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.conversation_id = ? AND m.id > ?${to === null ? '' : ' AND m.id < ?'} ORDER BY m.id DESC LIMIT ?`);
        params.push(c, w.from, ...(to === null ? [] : [to.toString()]), limit + 1);
      }
    }
    if (!parts.length) return { messages: [], hasMore: false };
    const order = opts.afterSeq != null ? 'u.seq' : 'u.id DESC';
    const raw: Record<string, unknown>[] = await this.pool.execute(
      `SELECT * FROM (${parts.map(this.pool.dialect.unionMember).join(' UNION ALL ')}) u ORDER BY ${order} LIMIT ?`,
      [...params, limit + 1],
    );
    const rows = raw.map(toMessageRow);
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    if (opts.afterSeq == null) page.reverse();
    return { messages: page, hasMore };
  }
}
