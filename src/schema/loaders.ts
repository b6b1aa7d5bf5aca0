import DataLoader from 'dataloader';
import { type Group, type Role, type User, shownUser } from '../entities';
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
class LazyLoaders implements Loaders {
  private u?: Loaders['user'];
  private r?: Loaders['role'];
  private o?: Loaders['online'];
  private g?: Loaders['group'];

  constructor(private readonly services: Services) {}

  // Profiles come through the Redis cache; UserService invalidates on every write.
  // A deleted account comes out as its tombstone (shownUser), wherever it is shown.
  get user(): Loaders['user'] {
    return (this.u ??= new DataLoader(async (ids) => {
      const users = await this.services.userCache.byIds(ids);
      const byId = new Map(users.map((u) => [u.id, shownUser(u)]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
  }

  get role(): Loaders['role'] {
    return (this.r ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => this.services.users.roleOf(id)))));
  }

  get online(): Loaders['online'] {
    return (this.o ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => this.services.presence.isOnline(id)))));
  }

  get group(): Loaders['group'] {
    return (this.g ??= new DataLoader(async (ids) => {
      const groups = await this.services.groups.byIds(ids);
      const byId = new Map(groups.map((g) => [g.id, g]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
  }
}

export function createLoaders(services: Services): Loaders {
  return new LazyLoaders(services);
}
