import { createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { unauthenticated } from '../errors';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  deviceId: string;
  tokenId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const ALGORITHM = 'HS256' as const;
const ISSUER = 'im-server';

/** Access tokens: JWT, HS256 pinned both ways, short-lived. */
export class TokenSigner {
  // Made once: jsonwebtoken would otherwise turn the string into a key on every call.
  private readonly secret: KeyObject;

  constructor(secret: string, private readonly ttlS: number) {
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /**
   * Signs an access token valid `ttlS` seconds from `at.issuedAt` (seconds
   * since the epoch; default now). The same claims, `issuedAt` and `tokenId`
   * give the same token byte for byte: a refresh retried within the reuse
   * interval answers with the token it already issued.
   */
  sign(
    sub: { userId: string; sessionId: string; deviceId: string },
    at: { issuedAt?: number; tokenId?: string } = {},
  ): { token: string; expiresAt: Date } {
    const now = at.issuedAt ?? Math.floor(Date.now() / 1000);
    const exp = now + this.ttlS;
    const token = jwt.sign({ sid: sub.sessionId, did: sub.deviceId, iat: now, exp }, this.secret, {
      algorithm: ALGORITHM,
      subject: sub.userId,
      jwtid: at.tokenId ?? randomUUID(),
      issuer: ISSUER,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Throws UNAUTHENTICATED for anything but a valid, unexpired token signed by us with HS256. */
  verify(token: string): AccessClaims {
    let p: jwt.JwtPayload;
    try {
      const out = jwt.verify(token, this.secret, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (typeof out === 'string') throw new Error('unexpected payload');
      p = out;
    } catch (e) {
      const expired = e instanceof jwt.TokenExpiredError;
      throw unauthenticated(expired ? 'access token expired' : 'invalid access token');
    }
    if (typeof p.sub !== 'string' || typeof p.sid !== 'string' || typeof p.did !== 'string' || typeof p.exp !== 'number' || typeof p.jti !== 'string') {
      throw unauthenticated('invalid access token');
    }
    return { userId: p.sub, sessionId: p.sid, deviceId: p.did, tokenId: p.jti, exp: p.exp };
  }
}
