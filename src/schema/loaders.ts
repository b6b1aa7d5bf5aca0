import DataLoader from 'dataloader';
import { type Group, type Role, type User, shownUser } from '../entities';
import type { Services } from '../services';

/** Per-request batch loaders: lists resolve their users in one query (no N+1). */
export interface Loaders {
  user: DataLoader<string, User | null>;
  role: DataLoader<string, Role>;
  /** Presence of many users in one Redis command. */
  online: DataLoader<string, boolean>;
  /** When users were last seen, in one Redis command (services/last-seen.ts). */
  lastSeen: DataLoader<string, Date | null>;
  /** Groups by id, dissolved ones included (a GROUP_DISSOLVED notification still names its group). */
  group: DataLoader<string, Group | null>;
  /** Whether each user is the viewer or a contact of hers (friend or shared group), one query per batch. */
  contactsOf(viewerId: string): DataLoader<string, boolean>;
  /** The viewer's permissions, read once per request. */
  permissionsOf(viewerId: string): Promise<Set<string>>;
}

/** Each loader is made on first use: most operations (a send, an acknowledge, a push) use none. */
class LazyLoaders implements Loaders {
  private u?: Loaders['user'];
  private r?: Loaders['role'];
  private o?: Loaders['online'];
  private g?: Loaders['group'];
  private s?: Loaders['lastSeen'];
  private readonly contacts = new Map<string, DataLoader<string, boolean>>();
  private readonly permissions = new Map<string, Promise<Set<string>>>();

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
    return (this.o ??= new DataLoader(async (ids) => {
      const live = await this.services.presence.connectionsOfMany(ids);
      return ids.map((id) => (live.get(id)?.length ?? 0) > 0);
    }));
  }

  get lastSeen(): Loaders['lastSeen'] {
    return (this.s ??= new DataLoader((ids) => this.services.lastSeen.ofMany(ids)));
  }

  contactsOf(viewerId: string): DataLoader<string, boolean> {
    let loader = this.contacts.get(viewerId);
    if (!loader) {
      // The viewer counts as her own contact here, so she is in the same batch as the rest
      // (and her presence is read in the same command as theirs).
      loader = new DataLoader(async (ids) => {
        const others = ids.filter((id) => id !== viewerId);
        const found = others.length ? await this.services.contacts.among(viewerId, others) : new Set<string>();
        return ids.map((id) => id === viewerId || found.has(id));
      });
      this.contacts.set(viewerId, loader);
    }
    return loader;
  }

  permissionsOf(viewerId: string): Promise<Set<string>> {
    let p = this.permissions.get(viewerId);
    if (!p) this.permissions.set(viewerId, (p = this.services.users.permissionsOf(viewerId)));
    return p;
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
