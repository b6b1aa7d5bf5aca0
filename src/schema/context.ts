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
}

export function requireAuth(ctx: Ctx): AccessClaims {
  // The auth checker runs first for every @Authorized field; this narrows the type.
  if (!ctx.auth) throw new Error('resolver reached without authentication');
  return ctx.auth;
}
