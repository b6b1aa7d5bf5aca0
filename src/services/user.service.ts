import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import { Role, User } from '../entities';
import { AppError, ErrorCode, badInput, forbidden, notFound } from '../errors';
import type { AuthService } from './auth.service';
import type { UserCache } from './cache';
import type { FriendService } from './friend.service';
import type { GroupService } from './group.service';
import type { NotificationService } from './notification.service';

/** What ending an account's relations needs: its friend relations, its groups, and the push of the notices. */
export interface AccountRelations {
  friends: FriendService;
  groups: GroupService;
  notifications: NotificationService;
}
import { accountKey, checkOptionalText, checkText, TEXT } from './text';

export const PERMISSIONS = { userGet: 'userGet', userDel: 'userDel', roleSet: 'roleSet' } as const;
export type PermissionName = keyof typeof PERMISSIONS;

/** A LIKE pattern's wildcards taken literally, escaped with `!` (`ESCAPE '!'` reads the same in MariaDB and SQLite, a backslash does not). */
const escapeLike = (s: string) => s.replace(/[!%_]/g, (c) => `!${c}`);

export class UserService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly auth: AuthService,
    private readonly relations: AccountRelations,
    /** Profiles cached for the user DataLoader: every write below invalidates after it commits. */
    private readonly cache?: UserCache,
  ) {}

  async get(id: string, opts: { includeDeleted?: boolean } = {}): Promise<User | null> {
    if (!/^\d{1,20}$/.test(id)) return null;
    return this.em().findOne(User, opts.includeDeleted ? { id } : { id, deletedAt: null });
  }

  async byIds(ids: readonly string[]): Promise<User[]> {
    return this.em().find(User, { id: { $in: [...ids] } });
  }

  /** Prefix search on account (by its key) and name; served by the account and name indexes. */
  /** Accounts and names starting with `text`; `first` 1 to 50, else BAD_USER_INPUT. */
  async search(text: string, first: number): Promise<User[]> {
    if (!Number.isInteger(first) || first < 1 || first > 50) throw badInput('first must be 1 to 50');
    const q = checkText(text, TEXT.search).trim();
    if (!q) return [];
    return this.em()
      .createQueryBuilder(User)
      .where({ deletedAt: null })
      .andWhere("(account_key LIKE ? ESCAPE '!' OR name LIKE ? ESCAPE '!')", [`${escapeLike(accountKey(q))}%`, `${escapeLike(q)}%`])
      .orderBy({ id: 'asc' })
      .limit(first)
      .getResult();
  }

  async updateProfile(userId: string, input: { name?: string | null; avatar?: string | null; email?: string | null }): Promise<User> {
    const em = this.em();
    const user = await em.findOne(User, { id: userId, deletedAt: null });
    if (!user) throw notFound('user');
    // Stored as given: a read returns exactly what was sent (src/services/text.ts).
    if (input.name !== undefined) {
      if (input.name === null) throw badInput('name cannot be empty');
      user.name = checkText(input.name, TEXT.name);
    }
    if (input.avatar !== undefined) user.avatar = checkOptionalText(input.avatar, TEXT.avatar);
    if (input.email !== undefined) user.email = checkOptionalText(input.email, TEXT.email);
    await em.flush();
    await this.cache?.invalidate(userId);
    return user;
  }

  /** Read from the database on every call, so a role change counts on the next request. */
  async permissionsOf(userId: string): Promise<Set<string>> {
    // user -> role -> role_permissions -> permission; the join through role (by its key) adds no row.
    const rows: Array<{ name: string }> = await this.em()
      .createQueryBuilder(User, 'u')
      .select('p.name')
      .join('u.role', 'r')
      .join('r.permissions', 'p')
      .where({ id: userId, deletedAt: null })
      .execute('all');
    return new Set(rows.map((r) => r.name));
  }

  async isActive(userId: string): Promise<boolean> {
    return (await this.em().count(User, { id: userId, deletedAt: null })) === 1;
  }

  /**
   * Deletes an account (a tombstone: the row stays, deleted_at is set) and
   * ends every relation it had, so that from then on every path that targets
   * the id answers as for an id nobody has:
   * - it leaves each of its groups through GroupService.leave (an owner hands
   *   over as with leaveGroup; the last member out dissolves the group), once
   *   before the account is marked and once after, for a group it was added
   *   to meanwhile (adding takes a share lock on the user's row, so nothing
   *   can be added after the mark commits);
   * - in the transaction that marks it, under its row lock (the lock every
   *   friend operation takes first): its friendships and open friend requests
   *   go (FriendService.dropAccount), each former friend gets FRIEND_REMOVED;
   * - its cached profile is invalidated and all its sessions are revoked.
   * Its messages stay; readers see the sender as a tombstone (shownUser, through the user loader).
   * Throws FORBIDDEN without userDel for another's account, NOT_FOUND for an
   * unknown or already deleted one.
   */
  async delete(callerId: string, targetId: string): Promise<boolean> {
    if (callerId !== targetId && !(await this.permissionsOf(callerId)).has(PERMISSIONS.userDel)) {
      throw forbidden('deleting another user needs the permission userDel');
    }
    if (!(await this.isActive(targetId))) throw notFound('user');
    await this.leaveGroups(targetId);
    const notes = await this.em().transactional(async (em) => {
      const [row] = await em.createQueryBuilder(User).select('deletedAt').where({ id: targetId }).setLockMode(LockMode.PESSIMISTIC_WRITE).execute('all');
      if (!row || row.deletedAt != null) throw notFound('user');
      await em.nativeUpdate(User, { id: targetId }, { deletedAt: new Date() });
      return this.relations.friends.dropAccount(em, targetId);
    });
    this.relations.notifications.publish(notes);
    await this.cache?.invalidate(targetId);
    await this.auth.revokeAllSessions(targetId);
    await this.leaveGroups(targetId);
    return true;
  }

  /** Leaves every group the user is in, one by one; a group dissolved or left meanwhile is skipped. */
  private async leaveGroups(userId: string): Promise<void> {
    const { groups } = this.relations;
    for (const group of await groups.listFor(userId)) {
      try {
        await groups.leave(userId, group.id);
      } catch (e) {
        if (!(e instanceof AppError) || (e.code !== ErrorCode.NOT_FOUND && e.code !== ErrorCode.FORBIDDEN)) throw e;
      }
    }
  }

  async setRole(callerId: string, targetId: string, roleName: string): Promise<User> {
    if (!(await this.permissionsOf(callerId)).has(PERMISSIONS.roleSet)) throw forbidden('changing roles needs the permission roleSet');
    const em = this.em();
    const role = await em.findOne(Role, { name: checkText(roleName, TEXT.role) });
    // The column's collation would match 'ADMIN' or 'admin ' too: role names are exact.
    if (!role || role.name !== roleName) throw badInput(`unknown role "${roleName}"`);
    const user = await em.findOne(User, { id: targetId, deletedAt: null });
    if (!user) throw notFound('user');
    user.role = role;
    await em.flush();
    await this.cache?.invalidate(targetId);
    return user;
  }

  async roleOf(roleId: string): Promise<Role> {
    return this.em().findOneOrFail(Role, { id: roleId }, { populate: ['permissions'] });
  }
}
