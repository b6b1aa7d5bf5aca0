import { LockMode, type QueryResult } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import { dialectOf } from '../db/dialect';
import { fromSqlDateTime } from '../db/sql-time';
import { Notification, NotificationStatus, NotificationType, User } from '../entities';
import { AppError, ErrorCode, badInput, conflict, notFound } from '../errors';
import { checkOptionalText, TEXT } from './text';
import type { NotificationService } from './notification.service';

/** The caller's view of one friend: their own settings plus the friendship's start. */
export interface FriendView {
  userId: string;
  remark: string | null;
  starred: boolean;
  blocked: boolean;
  since: Date;
}

export interface FriendPatch {
  remark?: string | null;
  starred?: boolean | null;
  blocked?: boolean | null;
}

const OPEN = [NotificationStatus.INITIAL, NotificationStatus.RECEIVED, NotificationStatus.READ];
const pair = (a: string, b: string): [string, string] => (BigInt(a) < BigInt(b) ? [a, b] : [b, a]);
const notFriends = (msg = 'you are not friends') => new AppError(ErrorCode.NOT_FRIENDS, msg);

type Row = Record<string, unknown>;
/** Raw queries return DATETIME as UTC text ('YYYY-MM-DD hh:mm:ss.fff'); entities get Dates. */

/**
 * Friendships (one row per pair) and each side's settings. Every change to a
 * pair runs under row locks on both users' rows, taken first in the
 * transaction, so two concurrent requests or answers for one pair serialize
 * and the REPEATABLE READ snapshot of later reads starts after the lock.
 */
export class FriendService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly notifications: NotificationService,
  ) {}

  /** The caller's friends (or just one of them), with the caller's own settings. */
  async list(userId: string, onlyPeer?: string): Promise<FriendView[]> {
    const rows: Row[] = await this.em().execute(
      `SELECT f.peer, f.created_at, s.remark, s.starred, s.blocked FROM (
         SELECT user_hi AS peer, created_at FROM friendship WHERE user_lo = ?
         UNION ALL SELECT user_lo, created_at FROM friendship WHERE user_hi = ?) f
       JOIN user u ON u.id = f.peer AND u.deleted_at IS NULL
       LEFT JOIN friend_setting s ON s.user_id = ? AND s.peer_id = f.peer
       ${onlyPeer ? 'WHERE f.peer = ?' : ''}
       ORDER BY f.peer`,
      onlyPeer ? [userId, userId, userId, onlyPeer] : [userId, userId, userId],
    );
    return rows.map((r) => ({
      userId: String(r.peer),
      remark: (r.remark as string | null) ?? null,
      starred: Boolean(Number(r.starred ?? 0)),
      blocked: Boolean(Number(r.blocked ?? 0)),
      since: fromSqlDateTime(r.created_at),
    }));
  }

  /**
   * Stores a FRIEND_REQUEST and pushes it to the target. NOT_FOUND for an
   * unknown or deleted user, CONFLICT when already friends or a request is
   * open either way. To someone who blocked the caller it answers exactly as
   * to anyone else (a block is never told) but the request is held: not
   * pushed, and not listed to the blocker while the block stands
   * (NotificationService.list).
   */
  async sendRequest(userId: string, targetId: string, remark?: string | null): Promise<Notification> {
    if (userId === targetId) throw badInput('you cannot send a friend request to yourself');
    const [note, held] = await this.em().transactional(async (em) => {
      await this.lockPair(em, userId, targetId);
      if (await this.areFriendsIn(em, userId, targetId)) throw conflict('you are already friends');
      const pending = await em.findOne(
        Notification,
        {
          type: NotificationType.FRIEND_REQUEST,
          status: { $in: OPEN },
          $or: [{ senderId: userId, receiverId: targetId }, { senderId: targetId, receiverId: userId }],
        },
        { fields: ['id', 'senderId'] },
      );
      if (pending) {
        const { id } = pending;
        const mine = pending.senderId === userId;
        throw new AppError(
          ErrorCode.CONFLICT,
          mine
            ? `your friend request ${id} to this user is still pending`
            : `this user already sent you friend request ${id}: answer it with respondToFriendRequest`,
          { notificationId: id },
        );
      }
      // A block is never told: the request is stored as any other (so a repeat gets the same
      // "still pending"), but it is held: never pushed, and left out of the blocker's list while he blocks.
      const held = await this.hasBlocked(em, targetId, userId);
      const notes = await this.notifications.store(em, [
        { type: NotificationType.FRIEND_REQUEST, senderId: userId, receiverId: targetId, remark: checkOptionalText(remark, TEXT.requestRemark) ?? null },
      ]);
      return [notes[0], held] as const;
    });
    if (!held) this.notifications.publish([note]);
    return note;
  }

  /**
   * Only the receiver answers, only while the request is open; the answer is itself stored for the requester (D19).
   * Someone else's notification is NOT_FOUND, as a missing one: an id tells nothing about others.
   */
  async respond(userId: string, notificationId: string, accept: boolean): Promise<Notification> {
    const peek = await this.notifications.byId(notificationId);
    if (!peek || peek.receiverId !== userId) throw notFound('notification');
    if (peek.type !== NotificationType.FRIEND_REQUEST) throw badInput('only a FRIEND_REQUEST notification can be answered');
    const requester = peek.senderId;
    const [request, answer] = await this.em().transactional(async (em) => {
      const users = await this.lockPair(em, userId, requester, false);
      const [row] = await em
        .createQueryBuilder(Notification)
        .select('status')
        .where({ id: notificationId })
        .setLockMode(LockMode.PESSIMISTIC_WRITE)
        .execute('all');
      // Gone when its sender's account was deleted meanwhile (dropAccount).
      if (!row) throw notFound('notification');
      if (!OPEN.includes(Number(row.status))) throw conflict('this friend request was already answered');
      if (accept) {
        if (!users.includes(requester)) throw notFound('the requesting user');
        const [lo, hi] = pair(userId, requester);
        const now = new Date();
        await em.execute(`${dialectOf(em).insertIgnore} INTO friendship (user_lo, user_hi, created_at) VALUES (?, ?, ?)`, [lo, hi, now]);
        // Existing settings (a block from an earlier friendship) are kept as they are.
        await em.execute(
          `${dialectOf(em).insertIgnore} INTO friend_setting (user_id, peer_id, updated_at) VALUES (?, ?, ?), (?, ?, ?)`,
          [userId, requester, now, requester, userId, now],
        );
      }
      const status = accept ? NotificationStatus.FULFILLED : NotificationStatus.REJECTED;
      await em.nativeUpdate(Notification, { id: notificationId }, { status, updatedAt: new Date() });
      const [ans] = await this.notifications.store(em, [
        { type: accept ? NotificationType.FRIEND_ACCEPTED : NotificationType.FRIEND_REJECTED, senderId: userId, receiverId: requester },
      ]);
      return [await em.findOneOrFail(Notification, { id: notificationId }, { refresh: true }), ans];
    });
    this.notifications.publish([answer]);
    return request;
  }

  async remove(userId: string, peerId: string): Promise<boolean> {
    if (userId === peerId) throw badInput('you cannot unfriend yourself');
    const [note] = await this.em().transactional(async (em) => {
      await this.lockPair(em, userId, peerId, false);
      const [lo, hi] = pair(userId, peerId);
      const res = await em.execute<QueryResult>('DELETE FROM friendship WHERE user_lo = ? AND user_hi = ?', [lo, hi], 'run');
      if (!res.affectedRows) throw notFriends();
      // Settings stay on purpose: a block must outlive the friendship.
      return this.notifications.store(em, [{ type: NotificationType.FRIEND_REMOVED, senderId: userId, receiverId: peerId }]);
    });
    this.notifications.publish([note]);
    return true;
  }

  /** Changes only the caller's own row; fields left out keep their value. */
  async update(userId: string, peerId: string, patch: FriendPatch): Promise<FriendView> {
    if (userId === peerId) throw badInput('you have no friend settings for yourself');
    for (const k of ['starred', 'blocked'] as const) {
      if (patch[k] === null) throw badInput(`${k} cannot be null`);
    }
    const em = this.em();
    if (!(await this.areFriendsIn(em, userId, peerId))) throw notFriends();
    // Stored as given (src/services/text.ts); null clears it.
    const remark = checkOptionalText(patch.remark, TEXT.friendRemark);
    const sets: Array<[string, string]> = [['updated_at', 'NEW(updated_at)']];
    if (remark !== undefined) sets.push(['remark', 'NEW(remark)']);
    if (patch.starred != null) sets.push(['starred', 'NEW(starred)']);
    if (patch.blocked != null) sets.push(['blocked', 'NEW(blocked)']);
    await em.execute(
      dialectOf(em).upsert(
        'INSERT INTO friend_setting (user_id, peer_id, remark, starred, blocked, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        ['user_id', 'peer_id'],
        sets,
      ),
      [userId, peerId, remark ?? null, patch.starred ? 1 : 0, patch.blocked ? 1 : 0, new Date()],
    );
    const [view] = await this.list(userId, peerId);
    if (!view) throw notFriends();
    return view;
  }

  /**
   * Blocks or unblocks `peerId` for `userId`, friend or not: a stranger whose
   * friend requests keep coming can be blocked, and a block outlives an ended
   * friendship, so it must be liftable without one. Errors: BAD_USER_INPUT
   * for oneself, NOT_FOUND for a user who does not exist (users are public).
   */
  async setBlocked(userId: string, peerId: string, blocked: boolean): Promise<void> {
    if (userId === peerId) throw badInput('you cannot block yourself');
    const em = this.em();
    if (!(await em.count(User, { id: peerId, deletedAt: null }))) throw notFound('user');
    await em.execute(
      dialectOf(em).upsert(
        'INSERT INTO friend_setting (user_id, peer_id, remark, starred, blocked, updated_at) VALUES (?, ?, NULL, 0, ?, ?)',
        ['user_id', 'peer_id'],
        [
          ['blocked', 'NEW(blocked)'],
          ['updated_at', 'NEW(updated_at)'],
        ],
      ),
      [userId, peerId, blocked ? 1 : 0, new Date()],
    );
  }

  /**
   * For the message engine (D1): the sender may message the receiver only as
   * a friend the receiver has not blocked. Throws NOT_FRIENDS, with the same
   * message for a non-friend, an unknown id and a blocker: a block is never told.
   */
  async canMessage(senderId: string, receiverId: string): Promise<void> {
    if (senderId === receiverId) throw notFriends('you cannot message yourself');
    const [lo, hi] = pair(senderId, receiverId);
    const [row]: Row[] = await this.em().execute(
      `SELECT EXISTS(SELECT 1 FROM friendship WHERE user_lo = ? AND user_hi = ?) AS friends,
              COALESCE((SELECT blocked FROM friend_setting WHERE user_id = ? AND peer_id = ?), 0) AS blocked`,
      [lo, hi, receiverId, senderId],
    );
    if (!Number(row.friends) || Number(row.blocked)) throw notFriends('you can only message your friends');
  }

  /**
   * Which of ids userId may bring into a group (one query): active users who
   * are userId's friends and have not blocked userId. One who blocked userId
   * is left out like a non-friend, so the refusal never tells userId of the
   * block. The users' rows are share-locked, so an account deletion
   * (dropAccount locks the row first) either sees the new membership or makes
   * this read see the account deleted.
   */
  async friendsAmong(em: EntityManager, userId: string, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const marks = ids.map(() => '?').join(', ');
    const rows: Row[] = await em.execute(
      `SELECT f.peer FROM (
         SELECT user_hi AS peer FROM friendship WHERE user_lo = ? AND user_hi IN (${marks})
         UNION ALL SELECT user_lo FROM friendship WHERE user_hi = ? AND user_lo IN (${marks})) f
       JOIN user u ON u.id = f.peer AND u.deleted_at IS NULL
       LEFT JOIN friend_setting s ON s.user_id = f.peer AND s.peer_id = ?
       WHERE COALESCE(s.blocked, 0) = 0${dialectOf(em).forShare}`,
      [userId, ...ids, userId, ...ids, userId],
    );
    return new Set(rows.map((r) => String(r.peer)));
  }

  /**
   * Blocks that a new group membership would cross: every (blocker, blocked)
   * pair, in either direction, between one of joining and another of joining
   * or of others (the group's members, or the creator). Empty when none.
   */
  async blocksAmong(em: EntityManager, joining: string[], others: string[]): Promise<Array<{ blocker: string; blocked: string }>> {
    if (!joining.length) return [];
    const all = [...new Set([...joining, ...others])];
    const j = joining.map(() => '?').join(', ');
    const a = all.map(() => '?').join(', ');
    const rows: Row[] = await em.execute(
      `SELECT user_id, peer_id FROM friend_setting WHERE blocked = 1 AND user_id <> peer_id
         AND ((user_id IN (${j}) AND peer_id IN (${a})) OR (user_id IN (${a}) AND peer_id IN (${j})))`,
      [...joining, ...all, ...all, ...joining],
    );
    return rows.map((r) => ({ blocker: String(r.user_id), blocked: String(r.peer_id) }));
  }

  /**
   * Ends every friend relation of an account being deleted, in the caller's
   * transaction, right after it locked the user's row: his friendships (and
   * both sides' settings for them, and his own settings) and his open friend
   * requests, sent and received (the rows are deleted, so answering one gets
   * NOT_FOUND as for any unknown request). Returns one FRIEND_REMOVED per
   * former friend, stored; the caller publishes them after the commit.
   */
  async dropAccount(em: EntityManager, userId: string): Promise<Notification[]> {
    const peers: Row[] = await em.execute(
      `SELECT user_hi AS peer FROM friendship WHERE user_lo = ? UNION ALL SELECT user_lo FROM friendship WHERE user_hi = ?`,
      [userId, userId],
    );
    const friends = peers.map((r) => String(r.peer));
    await em.execute('DELETE FROM friendship WHERE user_lo = ?', [userId]);
    await em.execute('DELETE FROM friendship WHERE user_hi = ?', [userId]);
    await em.execute('DELETE FROM friend_setting WHERE user_id = ?', [userId]);
    // Ex-friends' settings about him (a block that outlived a friendship) are harmless: he can never be targeted again.
    if (friends.length) {
      await em.execute(`DELETE FROM friend_setting WHERE peer_id = ? AND user_id IN (${friends.map(() => '?').join(', ')})`, [userId, ...friends]);
    }
    for (const side of ['senderId', 'receiverId'] as const) {
      await em.nativeDelete(Notification, { [side]: userId, type: NotificationType.FRIEND_REQUEST, status: { $in: OPEN } });
    }
    return this.notifications.store(em, friends.map((receiverId) => ({ type: NotificationType.FRIEND_REMOVED, senderId: userId, receiverId })));
  }

  private async areFriendsIn(em: EntityManager, a: string, b: string): Promise<boolean> {
    const [lo, hi] = pair(a, b);
    const rows: Row[] = await em.execute('SELECT 1 AS x FROM friendship WHERE user_lo = ? AND user_hi = ?', [lo, hi]);
    return rows.length > 0;
  }

  private async hasBlocked(em: EntityManager, userId: string, peerId: string): Promise<boolean> {
    const rows: Row[] = await em.execute('SELECT blocked FROM friend_setting WHERE user_id = ? AND peer_id = ?', [userId, peerId]);
    return rows.length > 0 && Boolean(Number(rows[0].blocked));
  }

  /**
   * Locks both users' rows in id order (no deadlock between two pair
   * operations). Returns the ids that are live users; by default the second
   * one must be (the caller is live, the token proved it).
   */
  private async lockPair(em: EntityManager, self: string, other: string, requireOther = true): Promise<string[]> {
    const [lo, hi] = pair(self, other);
    const rows = await em
      .createQueryBuilder(User)
      .select(['id', 'deletedAt'])
      .where({ id: { $in: [lo, hi] } })
      .orderBy({ id: 'asc' })
      .setLockMode(LockMode.PESSIMISTIC_WRITE)
      .execute('all');
    const live = rows.filter((r) => r.deletedAt == null).map((r) => String(r.id));
    if (requireOther && !live.includes(other)) throw notFound('user');
    return live;
  }
}
