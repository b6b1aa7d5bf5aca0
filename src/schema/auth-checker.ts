import type { AuthChecker } from 'type-graphql';
import { forbidden, unauthenticated } from '../errors';
import type { Ctx } from './context';

/**
 * @Authorized() needs a valid session; @Authorized('userDel') also needs that
 * permission, read from the database on each request so role changes count at once.
 */
export const authChecker: AuthChecker<Ctx> = async ({ context }, permissions) => {
  if (!context.auth) throw context.authError ?? unauthenticated();
  if (!permissions.length) return true;
  const have = await context.services.users.permissionsOf(context.auth.userId);
  const missing = permissions.filter((p) => !have.has(p));
  if (missing.length) throw forbidden(`this needs the permission ${missing.join(', ')}`);
  return true;
};
