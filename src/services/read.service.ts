import type { EntityManager } from '@mikro-orm/knex';
import { badInput, notFound } from '../errors';
import type { AppPubSub } from '../pubsub';
import { type ConversationRef, type MembershipWindow, findMembership, inWindows, windowsCondition } from './membership';

export interface ReadReceiptView {
  readerId: string;
  /** 1:1: the user whose messages were read. */
  peerId: string | null;
  groupId: string | null;
  lastRead: string;
}

export interface ReadersView {
  read: string[];
  unread: string[];
}

/**
 * Read state (D15-D17): one row per (conversation, member), moved forward
 * only, and receipts pushed to the people whose messages were read.
 */
export class ReadService {
  constructor(private readonly em: () => EntityManager, private readonly pubSub: AppPubSub) {}

  /**
   * NOT_FOUND "conversation not found" alike for a peer or group id that is
   * not the caller's conversation and one nobody has; BAD_USER_INPUT when
   * upTo is not a message she can see in it.
   */
  async markRead(userId: string, ref: ConversationRef, upTo: string): Promise<ReadReceiptView> {
    const em = this.em();
    const member = await findMembership(em, userId, ref);
    if (!member) throw notFound('conversation');
    const sql = em.getConnection();
    const [msg] = await sql.execute('SELECT seq FROM message WHERE id = ? AND conversation_id = ?', [upTo, member.conversationId]);
    if (!msg || !inWindows(member.windows, upTo)) throw badInput('upTo is not a message of this conversation');
    const [before] = await sql.execute(
      'SELECT last_read_id FROM conversation_member WHERE conversation_id = ? AND user_id = ?',
      [member.conversationId, userId],
    );
    // D15: one statement, never backwards. last_read_seq is assigned first and reads the old last_read_id.
    await sql.execute(
      `UPDATE conversation_member SET
         last_read_seq = CASE WHEN ? > COALESCE(last_read_id, 0) THEN ? ELSE last_read_seq END,
         last_read_id = GREATEST(COALESCE(last_read_id, 0), ?)
       WHERE conversation_id = ? AND user_id = ?`,
      [upTo, msg.seq, upTo, member.conversationId, userId],
      'run',
    );
    const [after] = await sql.execute(
      'SELECT last_read_id FROM conversation_member WHERE conversation_id = ? AND user_id = ?',
      [member.conversationId, userId],
    );
    const lastRead = String(after.last_read_id);
    const receipt: ReadReceiptView = { readerId: userId, peerId: member.peerId, groupId: member.groupId, lastRead };
    const from = before?.last_read_id == null ? '0' : String(before.last_read_id);
    if (BigInt(lastRead) > BigInt(from)) await this.notify(member.conversationId, member.windows, userId, from, lastRead, receipt);
    return receipt;
  }

  /**
   * D16: to the authors of the messages that just became read, never to
   * every member; best effort. Messages sent while the reader was out of the
   * group are not read by her, so their authors hear nothing.
   */
  private async notify(conversationId: string, windows: MembershipWindow[], readerId: string, from: string, to: string, receipt: ReadReceiptView): Promise<void> {
    const seen = windowsCondition('id', windows);
    const authors: string[] = receipt.peerId
      ? [receipt.peerId]
      : (
          (await this.em().getConnection().execute(
            `SELECT DISTINCT sender_id FROM message WHERE conversation_id = ? AND id > ? AND id <= ? AND sender_id <> ? AND ${seen.sql}`,
            [conversationId, from, to, readerId, ...seen.params],
          )) as Array<{ sender_id: string }>
        ).map((r) => String(r.sender_id));
    for (const author of authors) this.pubSub.publish('READ_RECEIPT', author, { ...receipt });
  }

  /**
   * D17: the message's audience is everyone (but its sender) whose
   * membership windows hold it, whether still a member or not; of them, those
   * with lastRead >= the message read it and the rest have not. Someone who
   * could not see the message (she joined after it, or it was sent while she
   * was out) is in neither list. The caller must be a member now and able to
   * see the message herself, else it is NOT_FOUND "message not found" to her
   * (a missing group, a group she is not in and a message she cannot see alike).
   */
  async readers(userId: string, groupId: string, messageId: string): Promise<ReadersView> {
    const em = this.em();
    const member = await findMembership(em, userId, { groupId });
    // One answer for every "not yours or not there": group, membership or message.
    if (!member?.active) throw notFound('message');
    const sql = em.getConnection();
    const [msg] = await sql.execute('SELECT sender_id FROM message WHERE id = ? AND conversation_id = ?', [messageId, groupId]);
    if (!msg || !inWindows(member.windows, messageId)) throw notFound('message');
    // Unread: members now who could see it and have not read it. Read: anyone whose window held it and who read it,
    // members now or not. A deleted account is in neither: it can never read again (nor is it shown as a reader).
    const rows: Array<{ user_id: string; is_read: number; active: number }> = await sql.execute(
      `SELECT cm.user_id, COALESCE(cm.last_read_id, 0) >= ? AS is_read, cm.active FROM conversation_member cm
        JOIN user u ON u.id = cm.user_id AND u.deleted_at IS NULL
        WHERE cm.conversation_id = ? AND cm.user_id <> ?
          AND ((cm.visible_from < ? AND (cm.visible_to IS NULL OR cm.visible_to >= ?))
            OR EXISTS (SELECT 1 FROM membership_window w WHERE w.user_id = cm.user_id AND w.conversation_id = cm.conversation_id
                        AND w.visible_from < ? AND w.visible_to >= ?))
        ORDER BY cm.user_id`,
      [messageId, groupId, msg.sender_id, messageId, messageId, messageId, messageId],
    );
    return {
      read: rows.filter((r) => Number(r.is_read)).map((r) => String(r.user_id)),
      unread: rows.filter((r) => !Number(r.is_read) && Number(r.active)).map((r) => String(r.user_id)),
    };
  }
}
