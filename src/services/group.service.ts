import type { QueryResult } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import { dialectOf } from '../db/dialect';
import type { Config } from '../config';
import { ConversationKind, Group, GroupRole, type Notification, NotificationType } from '../entities';
import { AppError, ErrorCode, badInput, forbidden, notFound } from '../errors';
import { marks } from '../db/sql-text';
import { fromSqlDateTime } from '../db/sql-time';
import { checkOptionalText, checkText, TEXT } from './text';
import type { Keys } from '../redis';
import type { Cache } from './cache';
import type { FriendService } from './friend.service';
import { closeWindows, openWindows } from './membership';
import type { NewNotification, NotificationService } from './notification.service';

export interface GroupMemberView {
  groupId: string;
  userId: string;
  role: GroupRole;
  joinedAt: Date;
  lastRead: string | null;
}

export const MAX_MEMBER_PAGE = 500;

type Row = Record<string, unknown>;
/** Raw queries return DATETIME as UTC text ('YYYY-MM-DD hh:mm:ss.fff'); entities get Dates. */
interface Member { userId: string; role: GroupRole; joinedAt: Date }
/** What a membership change sees, all read under the conversation row lock. */
interface Locked {
  em: EntityManager;
  group: Group;
  me: Member;
  /** The conversation's last message id (0 if none): where a join's window starts and a leave's ends. */
  lastMessageId: string;
  headSeq: number;
}

const limitExceeded = (max: number) => new AppError(ErrorCode.LIMIT_EXCEEDED, `a group holds at most ${max} members`);

/**
 * Groups and their members. Every membership change runs under
 * `SELECT ... FROM conversation WHERE id = ? FOR UPDATE`, the same lock under
 * which the message engine numbers messages, so last_message_id read there is
 * exactly the boundary of the member's view window. The member-id cache is
 * invalidated after each commit.
 */
export class GroupService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly notifications: NotificationService,
    private readonly friends: FriendService,
    private readonly cache: Cache,
    private readonly keys: Keys,
    private readonly config: Config,
  ) {}

  async byIds(ids: readonly string[]): Promise<Group[]> {
    return this.em().find(Group, { id: { $in: [...ids] } });
  }

  /** Active member ids, from the cache (the hot path of group fan-out), else from MariaDB. */
  async memberIds(groupId: string): Promise<string[]> {
    const key = this.keys.groupMembers(groupId);
    const { values: [hit], versions: [version] } = await this.cache.read([key]);
    if (hit) return JSON.parse(hit) as string[];
    const rows: Row[] = await this.em().execute(
      `SELECT m.user_id FROM chat_group g JOIN conversation_member m ON m.conversation_id = g.id AND m.active = 1
       WHERE g.id = ? AND g.dissolved_at IS NULL ORDER BY m.user_id`,
      [groupId],
    );
    const ids = rows.map((r) => String(r.user_id));
    await this.cache.fill(key, version, JSON.stringify(ids));
    return ids;
  }

  /**
   * A group message's audience: every user whose membership windows hold
   * message `messageId` (joined before it, and still a member or left at or
   * after it), the sender included. Its fan-out plans for exactly these, so a
   * member removed between the message's commit and its fan-out still gets it
   * (or a D7 guard), and one added after it does not.
   */
  async audienceOf(groupId: string, messageId: string): Promise<string[]> {
    const rows: Row[] = await this.em().execute(
      `SELECT user_id FROM conversation_member
        WHERE conversation_id = ? AND visible_from < ? AND (visible_to IS NULL OR visible_to >= ?)
       UNION
       SELECT user_id FROM membership_window
        WHERE conversation_id = ? AND visible_to >= ? AND visible_from < ?`,
      [groupId, messageId, messageId, groupId, messageId, messageId],
    );
    return rows.map((r) => String(r.user_id)).sort();
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.memberIds(groupId)).includes(userId);
  }

  /** Null when there is no such (live) group, or the caller is not a member of it: one answer, so an id tells nothing. */
  async get(userId: string, groupId: string): Promise<Group | null> {
    if (!(await this.isMember(groupId, userId))) return null;
    return this.em().findOne(Group, { id: groupId, dissolvedAt: null });
  }

  async listFor(userId: string): Promise<Group[]> {
    const em = this.em();
    const rows: Row[] = await em.execute('SELECT conversation_id FROM conversation_member WHERE user_id = ? AND active = 1', [userId]);
    if (!rows.length) return [];
    return em.find(Group, { id: { $in: rows.map((r) => String(r.conversation_id)) }, dissolvedAt: null }, { orderBy: { id: 'asc' } });
  }

  /** Keyset-paged by user id; members only. */
  async members(userId: string, groupId: string, first: number, after?: string | null): Promise<GroupMemberView[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_MEMBER_PAGE) throw badInput(`first must be 1 to ${MAX_MEMBER_PAGE}`);
    if (!(await this.isMember(groupId, userId))) throw forbidden('only members can list the members of this group');
    const rows: Row[] = await this.em().execute(
      `SELECT user_id, role, joined_at, last_read_id FROM conversation_member
       WHERE conversation_id = ? AND active = 1 AND user_id > ? ORDER BY user_id LIMIT ?`,
      [groupId, after ?? '0', first],
    );
    return rows.map((r) => ({
      groupId,
      userId: String(r.user_id),
      role: Number(r.role) as GroupRole,
      joinedAt: fromSqlDateTime(r.joined_at),
      lastRead: r.last_read_id == null ? null : String(r.last_read_id),
    }));
  }

  /**
   * A new group with the caller as OWNER and `memberIds` (her friends; a
   * repeat counts once) as MEMBERs; none is a group of one. Her own id among
   * them is ignored, since she will be a member whatever the list says: unlike
   * addMembers, there is no earlier state of the group her call could have
   * missed (which is what addMembers' CONFLICT "already members" tells).
   */
  async create(userId: string, input: { name: string; memberIds: string[]; avatar?: string | null }): Promise<Group> {
    const name = checkText(input.name, TEXT.groupName);
    checkOptionalText(input.avatar, TEXT.avatar);
    const others = input.memberIds.filter((id) => id !== userId);
    if (others.length + 1 > this.config.groups.maxSize) throw limitExceeded(this.config.groups.maxSize);
    let notes: Notification[] = [];
    const group = await this.em().transactional(async (em) => {
      await this.requireFriends(em, userId, others, [userId]);
      const now = new Date();
      const res = await em.execute<QueryResult>(
        'INSERT INTO conversation (kind, direct_key, head_seq, last_message_id, last_activity_at) VALUES (?, NULL, 0, NULL, ?)',
        [ConversationKind.GROUP, now],
        'run',
      );
      const g = em.create(Group, { id: String(res.insertId), name, avatar: input.avatar ?? null, ownerId: userId, memberCount: others.length + 1, createdAt: now });
      await em.flush();
      await this.join(em, g.id, [userId], GroupRole.OWNER, '0', 0, now);
      await this.join(em, g.id, others, GroupRole.MEMBER, '0', 0, now);
      notes = await this.notifications.store(em, this.notes(NotificationType.GROUP_JOINED, userId, g.id, others));
      return g;
    });
    // A miss before the id existed may have cached an empty list for it.
    await this.cache.invalidate(this.keys.groupMembers(group.id));
    this.notifications.publish(notes);
    return group;
  }

  async addMembers(userId: string, groupId: string, userIds: string[]): Promise<Group> {
    if (!userIds.length) throw badInput('userIds cannot be empty');
    return this.change(groupId, userId, async ({ em, group, me, lastMessageId, headSeq }) => {
      if (me.role !== GroupRole.OWNER && me.role !== GroupRole.ADMIN) throw forbidden('only the owner or an admin can add members');
      const already = await this.activeAmong(em, groupId, userIds);
      if (already.length) throw new AppError(ErrorCode.CONFLICT, `already members: ${already.join(', ')}`, { userIds: already });
      if (group.memberCount + userIds.length > this.config.groups.maxSize) throw limitExceeded(this.config.groups.maxSize);
      const present: Row[] = await em.execute('SELECT user_id FROM conversation_member WHERE conversation_id = ? AND active = 1', [groupId]);
      await this.requireFriends(em, userId, userIds, present.map((r) => String(r.user_id)));
      await this.join(em, groupId, userIds, GroupRole.MEMBER, lastMessageId, headSeq, new Date());
      group.memberCount += userIds.length;
      return { result: group, notes: this.notes(NotificationType.GROUP_JOINED, userId, groupId, userIds) };
    });
  }

  /**
   * The owner or an admin removes another member (an admin: not an admin,
   * nobody: the owner). Oneself is BAD_USER_INPUT pointing at leaveGroup,
   * which also hands an owner's group over.
   */
  async removeMember(userId: string, groupId: string, targetId: string): Promise<Group> {
    return this.change(groupId, userId, async ({ em, group, me, lastMessageId, headSeq }) => {
      if (targetId === userId) throw badInput('removeGroupMember is for other members: to leave the group yourself, use leaveGroup');
      if (me.role !== GroupRole.OWNER && me.role !== GroupRole.ADMIN) throw forbidden('only the owner or an admin can remove members');
      const target = await this.member(em, groupId, targetId);
      if (!target) throw notFound('member');
      if (target.role === GroupRole.OWNER) throw forbidden('the owner cannot be removed');
      if (me.role === GroupRole.ADMIN && target.role === GroupRole.ADMIN) throw forbidden('an admin cannot remove another admin');
      await closeWindows(em, groupId, [targetId], { lastMessageId, headSeq });
      group.memberCount -= 1;
      return { result: group, notes: this.notes(NotificationType.GROUP_REMOVED, userId, groupId, [targetId]) };
    });
  }

  /** An owner hands over to the longest-standing admin, else member; the last one out dissolves the group. */
  async leave(userId: string, groupId: string): Promise<boolean> {
    return this.change(groupId, userId, async ({ em, group, me, lastMessageId, headSeq }) => {
      await closeWindows(em, groupId, [userId], { lastMessageId, headSeq });
      group.memberCount -= 1;
      if (group.memberCount <= 0) {
        group.memberCount = 0;
        group.dissolvedAt = new Date();
      } else if (me.role === GroupRole.OWNER) {
        const [next]: Row[] = await em.execute(
          `SELECT user_id FROM conversation_member WHERE conversation_id = ? AND active = 1
           ORDER BY role, joined_at, user_id LIMIT 1`,
          [groupId],
        );
        await em.execute('UPDATE conversation_member SET role = ? WHERE conversation_id = ? AND user_id = ?', [GroupRole.OWNER, groupId, next.user_id]);
        group.ownerId = String(next.user_id);
      }
      return { result: true };
    });
  }

  async dissolve(userId: string, groupId: string): Promise<boolean> {
    return this.change(groupId, userId, async ({ em, group, me, lastMessageId, headSeq }) => {
      if (me.role !== GroupRole.OWNER) throw forbidden('only the owner can dissolve the group');
      const rows: Row[] = await em.execute('SELECT user_id FROM conversation_member WHERE conversation_id = ? AND active = 1', [groupId]);
      const all = rows.map((r) => String(r.user_id));
      await closeWindows(em, groupId, all, { lastMessageId, headSeq });
      group.memberCount = 0;
      group.dissolvedAt = new Date();
      return { result: true, notes: this.notes(NotificationType.GROUP_DISSOLVED, userId, groupId, all) };
    });
  }

  /** The owner makes or unmakes admins; ownership only moves by leaving. */
  async setRole(userId: string, groupId: string, targetId: string, role: GroupRole): Promise<GroupMemberView> {
    if (role !== GroupRole.ADMIN && role !== GroupRole.MEMBER) throw badInput('role must be ADMIN or MEMBER');
    await this.change(groupId, userId, async ({ em, me }) => {
      if (me.role !== GroupRole.OWNER) throw forbidden('only the owner can change roles');
      if (targetId === userId) throw badInput('the owner cannot change their own role');
      if (!(await this.member(em, groupId, targetId))) throw notFound('member');
      await em.execute('UPDATE conversation_member SET role = ? WHERE conversation_id = ? AND user_id = ?', [role, groupId, targetId]);
      return { result: true };
    });
    return (await this.members(userId, groupId, 1, String(BigInt(targetId) - 1n)))[0];
  }

  /**
   * Runs one membership change under the conversation row lock (taken first,
   * so the snapshot of every later read starts after it), stores its
   * notifications in the same transaction, then invalidates and pushes.
   * NOT_FOUND "group not found" alike for a missing or dissolved group and
   * for one the caller is not a member of: an id tells nothing about others.
   */
  private async change<T>(
    groupId: string,
    userId: string,
    fn: (l: Locked) => Promise<{ result: T; notes?: NewNotification[] }>,
  ): Promise<T> {
    let notes: Notification[] = [];
    const result = await this.em().transactional(async (em) => {
      const [conv]: Row[] = await em.execute(`SELECT kind, head_seq, last_message_id FROM conversation WHERE id = ?${dialectOf(em).forUpdate}`, [groupId]);
      if (!conv || Number(conv.kind) !== ConversationKind.GROUP) throw notFound('group');
      const group = await em.findOne(Group, { id: groupId });
      if (!group || group.dissolvedAt) throw notFound('group');
      const me = await this.member(em, groupId, userId);
      if (!me) throw notFound('group');
      const lastMessageId = conv.last_message_id == null ? '0' : String(conv.last_message_id);
      const out = await fn({ em, group, me, lastMessageId, headSeq: Number(conv.head_seq) });
      if (out.notes?.length) notes = await this.notifications.store(em, out.notes);
      return out.result;
    });
    await this.cache.invalidate(this.keys.groupMembers(groupId));
    this.notifications.publish(notes);
    return result;
  }

  private async member(em: EntityManager, groupId: string, userId: string): Promise<Member | null> {
    const [r]: Row[] = await em.execute(
      'SELECT role, joined_at FROM conversation_member WHERE conversation_id = ? AND user_id = ? AND active = 1',
      [groupId, userId],
    );
    return r ? { userId, role: Number(r.role) as GroupRole, joinedAt: fromSqlDateTime(r.joined_at) } : null;
  }

  private async activeAmong(em: EntityManager, groupId: string, ids: string[]): Promise<string[]> {
    const rows: Row[] = await em.execute(
      `SELECT user_id FROM conversation_member WHERE conversation_id = ? AND active = 1 AND user_id IN (${marks(ids.length)})`,
      [groupId, ...ids],
    );
    return rows.map((r) => String(r.user_id));
  }

  /**
   * The caller may bring ids into a group that holds (or, for a new group, is
   * made of) present: each must be the caller's friend (FriendService.friendsAmong,
   * where one who blocked the caller counts as a non-friend: NOT_FRIENDS, the
   * same answer), and no block in either direction may stand between a newcomer
   * and anyone else in the group (FORBIDDEN): a block is about contact, so a
   * new shared group is refused while groups shared before the block stay.
   */
  private async requireFriends(em: EntityManager, userId: string, ids: string[], present: string[]): Promise<void> {
    const friends = await this.friends.friendsAmong(em, userId, ids);
    const strangers = ids.filter((id) => !friends.has(id));
    if (strangers.length) {
      throw new AppError(ErrorCode.NOT_FRIENDS, `only your friends can be added: ${strangers.join(', ')}`, { userIds: strangers });
    }
    const blocks = await this.friends.blocksAmong(em, ids, present);
    const mine = blocks.filter((b) => b.blocker === userId).map((b) => b.blocked);
    if (mine.length) {
      throw new AppError(ErrorCode.FORBIDDEN, `you have blocked ${mine.join(', ')}: unblock them first`, { userIds: mine });
    }
    // Only the newcomers are named, not whom they cannot meet.
    const joining = new Set(ids);
    const refused = [...new Set(blocks.flatMap((b) => [b.blocker, b.blocked]).filter((id) => joining.has(id)))];
    if (refused.length) {
      throw new AppError(ErrorCode.FORBIDDEN, `cannot be put in a group with some of its members: ${refused.join(', ')}`, { userIds: refused });
    }
  }

  /** Opens view windows at the head; see openWindows (a former member keeps her earlier windows). */
  private async join(em: EntityManager, groupId: string, ids: string[], role: GroupRole, lastMessageId: string, headSeq: number, now: Date): Promise<void> {
    await openWindows(em, groupId, ids, role, { lastMessageId, headSeq }, now);
  }

  private notes(type: NotificationType, senderId: string, groupId: string, receivers: string[]): NewNotification[] {
    return receivers.map((receiverId) => ({ type, senderId, receiverId, groupId }));
  }
}
