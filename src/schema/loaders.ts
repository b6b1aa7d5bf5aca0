import DataLoader from 'dataloader';
import type { Role, User } from '../entities';
import type { Services } from '../services';

/** Per-request batch loaders: lists resolve their users in one query (no N+1). */
export interface Loaders {
  user: DataLoader<string, User | null>;
  role: DataLoader<string, Role>;
  online: DataLoader<string, boolean>;
}

export function createLoaders(services: Services): Loaders {
  return {
    user: new DataLoader(async (ids) => {
      const users = await services.users.byIds(ids);
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    role: new DataLoader(async (ids) => Promise.all(ids.map((id) => services.users.roleOf(id)))),
    online: new DataLoader(async (ids) => Promise.all(ids.map((id) => services.presence.isOnline(id)))),
  };
}
