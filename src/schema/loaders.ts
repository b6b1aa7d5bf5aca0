import DataLoader from 'dataloader';
import type { Group, Role, User } from '../entities';
import type { Services } from '../services';

/** Per-request batch loaders: lists resolve their users in one query (no N+1). */
export interface Loaders {
  user: DataLoader<string, User | null>;
  role: DataLoader<string, Role>;
  online: DataLoader<string, boolean>;
  /** Groups by id, dissolved ones included (a GROUP_DISSOLVED notification still names its group). */
  group: DataLoader<string, Group | null>;
}

/** Each loader is made on first use: most operations (a send, an acknowledge, a push) use none. */
export function createLoaders(services: Services): Loaders {
  let user: Loaders['user'] | undefined;
  let role: Loaders['role'] | undefined;
  let online: Loaders['online'] | undefined;
  let group: Loaders['group'] | undefined;
  return {
    // Profiles come through the Redis cache; UserService invalidates on every write.
    get user() {
      return (user ??= new DataLoader(async (ids) => {
        const users = await services.userCache.byIds(ids);
        const byId = new Map(users.map((u) => [u.id, u]));
        return ids.map((id) => byId.get(id) ?? null);
      }));
    },
    get role() {
      return (role ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => services.users.roleOf(id)))));
    },
    get online() {
      return (online ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => services.presence.isOnline(id)))));
    },
    get group() {
      return (group ??= new DataLoader(async (ids) => {
        const groups = await services.groups.byIds(ids);
        const byId = new Map(groups.map((g) => [g.id, g]));
        return ids.map((id) => byId.get(id) ?? null);
      }));
    },
  };
}
