import type { AccessClaims } from '../auth/tokens';
import type { AppError } from '../errors';
import type { Services } from '../services';
import type { Loaders } from './loaders';

/** What every resolver receives, over HTTP and over the socket alike. */
export interface Ctx {
  auth: AccessClaims | null;
  /** Why a presented token was refused, reported by the auth checker. */
  authError?: AppError;
  services: Services;
  loaders: Loaders;
  /** Set for operations that arrive on a graphql-ws socket. */
  connectionId?: string;
  /** The client's address (src/limits/client-ip.ts: TRUST_PROXY decides whether X-Forwarded-For counts). */
  ip: string;
  /**
   * Whose eyes private User fields are resolved for when there is no auth
   * yet: the user a register, login or refreshSession just opened a session for.
   */
  viewerId?: string;
}

/** The user private User fields are shown to (src/schema/visibility.ts); null for an anonymous caller. */
export function viewerOf(ctx: Ctx): string | null {
  return ctx.auth?.userId ?? ctx.viewerId ?? null;
}

export function requireAuth(ctx: Ctx): AccessClaims {
  // The auth checker runs first for every @Authorized field; this narrows the type.
  if (!ctx.auth) throw new Error('resolver reached without authentication');
  return ctx.auth;
}
