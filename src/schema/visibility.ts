import type { User } from '../entities';
import { PERMISSIONS } from '../services/user.service';
import { type Ctx, viewerOf } from './context';

/** The User fields not everyone may see; the rest (id, account, name, avatar, createdAt, deleted) are public. */
export type PrivateUserField = 'email' | 'role' | 'online' | 'lastSeen';

/**
 * Who sees each private User field of a user; anyone else reads null. The user herself
 * sees all of them.
 * - email: holders of userGet (reading any user is what that permission is for);
 * - role: holders of userGet or roleSet (whoever changes roles must see them);
 * - online, lastSeen: her contacts (services/contacts.ts: friends, and members
 *   now of a live group she is a member of now). Not admins: presence is for
 *   the people she talks to, not for administration.
 * A deleted account has no self and no contacts: its presence is null to all.
 *
 * maySee tells whether the caller may see `field` of `user`. Batched:
 * the permissions are read once per request and contacts in one query per
 * list of users (src/schema/loaders.ts); the user herself costs nothing.
 */
export async function maySee(ctx: Ctx, user: User, field: PrivateUserField): Promise<boolean> {
  const viewer = viewerOf(ctx);
  if (!viewer) return false;
  const deleted = user.deletedAt != null;
  switch (field) {
    case 'email':
      return (viewer === user.id && !deleted) || (await ctx.loaders.permissionsOf(viewer)).has(PERMISSIONS.userGet);
    case 'role': {
      if (viewer === user.id && !deleted) return true;
      const perms = await ctx.loaders.permissionsOf(viewer);
      return perms.has(PERMISSIONS.userGet) || perms.has(PERMISSIONS.roleSet);
    }
    case 'online':
    case 'lastSeen':
      // Through the loader for the viewer herself too: one batch for a whole list.
      return !deleted && ctx.loaders.contactsOf(viewer).load(user.id);
  }
}
