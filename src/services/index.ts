import type { AuthService } from './auth.service';
import type { UserService } from './user.service';

/** Everything resolvers may call; built once in main.ts. */
export interface Services {
  auth: AuthService;
  users: UserService;
  presence: { isOnline(userId: string): Promise<boolean> };
}
