import type { AccessClaims } from '../auth/tokens';
import { AppError } from '../errors';
import type { Ctx } from '../schema/context';
import { createLoaders } from '../schema/loaders';
import type { Services } from '../services';

/** "Bearer x", "bearer x" or a bare token. */
export function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  return value.replace(/^Bearer\s+/i, '').trim();
}

/**
 * A missing token leaves auth empty (public operations work); a present but
 * bad one is kept as the error the auth checker reports.
 */
export async function contextFor(services: Services, token: string | undefined, from: { ip: string; connectionId?: string }): Promise<Ctx> {
  let auth: AccessClaims | null = null;
  let authError: AppError | undefined;
  if (token) {
    try {
      auth = await services.auth.authenticate(token);
      services.lastSeen.touch(auth.userId);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      authError = e;
    }
  }
  return { auth, authError, services, loaders: createLoaders(services), connectionId: from.connectionId, ip: from.ip };
}
