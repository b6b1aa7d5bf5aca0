import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { raw } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import { isDuplicateKey } from '../db/sql';
import { hashPassword, verifyPassword, dummyHash } from '../auth/password';
import type { AccessClaims, TokenSigner } from '../auth/tokens';
import type { Config } from '../config';
import { DeviceCursor, Role, SessionRow, User } from '../entities';
import { AppError, ErrorCode, conflict, unauthenticated } from '../errors';
import type { AppPubSub } from '../pubsub';
import type { SessionStatus } from '../auth/session-status';
import type { RateLimits } from '../limits/rate-limits';
import { accountKey, checkOptionalText, checkText, TEXT } from './text';

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: Date;
  deviceId: string;
  user: User;
}

/** A secret body: 32 bytes in base64url; an issued secret adds a 16-byte MAC. */
const LEGACY_SECRET_LENGTH = 43;
const ISSUED_SECRET_LENGTH = 43 + 22;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Accounts and sessions. Refresh tokens are "<sessionId>.<secret>"; only
 * hashes of secrets are stored: the newest, and the one it replaced (for the
 * reuse interval). Any other secret for a live session is a replay and
 * revokes the whole session.
 */
export class AuthService {
  /** Derives rotated refresh secrets (and their access tokens' ids); never leaves the process. */
  private readonly rotationKey: Buffer;

  constructor(
    private readonly em: () => EntityManager,
    private readonly signer: TokenSigner,
    readonly sessions: SessionStatus,
    private readonly config: Config,
    private readonly pubSub: AppPubSub,
    private readonly limits: RateLimits,
  ) {
    this.rotationKey = createHash('sha256').update(`refresh-rotation:${config.jwt.secret}`).digest();
  }

  /** Errors: RATE_LIMITED (registrations per IP, `RL_REGISTER_IP`), CONFLICT for a taken account. */
  async register(input: { account: string; password: string; name?: string | null; deviceId?: string | null }, ip: string): Promise<IssuedSession> {
    await this.limits.consume('registerIp', ip);
    const em = this.em();
    const key = accountKey(checkText(input.account, TEXT.account));
    if (await em.count(User, { accountKey: key })) throw conflict(`account "${input.account}" is taken`);
    const role = await em.findOneOrFail(Role, { name: 'user' });
    const user = em.create(User, {
      account: input.account,
      accountKey: key,
      passwordHash: await hashPassword(checkText(input.password, TEXT.password)),
      // Stored as given (src/services/text.ts); the account when none is given.
      name: checkOptionalText(input.name, TEXT.name) ?? input.account,
      role,
    });
    try {
      await em.persistAndFlush(user);
    } catch (e) {
      if (isDuplicateKey(e)) {
        throw conflict(`account "${input.account}" is taken`);
      }
      throw e;
    }
    return this.openSession(em, user, input.deviceId);
  }

  /**
   * Failed logins count per account (`RL_LOGIN_ACCOUNT`) and per client IP
   * (`RL_LOGIN_IP`); once either has none left, every attempt, right password
   * or not, is RATE_LIMITED until the window or block ends. A success clears
   * the account's count. Errors: RATE_LIMITED, UNAUTHENTICATED.
   */
  async login(input: { account: string; password: string; deviceId?: string | null }, ip: string): Promise<IssuedSession> {
    const key = accountKey(checkText(input.account, TEXT.loginAccount));
    const password = checkText(input.password, TEXT.loginPassword);
    // Every attempt takes its points before the password is checked, so concurrent attempts cannot all
    // pass a check made before any of them failed; a success gives them back.
    await this.limits.consume('loginIp', ip);
    try {
      await this.limits.consume('loginAccount', key);
    } catch (e) {
      await this.limits.refund('loginIp', ip);
      throw e;
    }
    const em = this.em();
    const user = await em.findOne(User, { accountKey: key, deletedAt: null }, { populate: ['passwordHash'] });
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), password);
    if (!user || !ok) throw unauthenticated('wrong account or password');
    await Promise.all([this.limits.refund('loginIp', ip), this.limits.reset('loginAccount', key)]);
    return this.openSession(em, user, input.deviceId);
  }

  /**
   * Rotates the refresh token (RFC 9700 §4.14.2). The current secret gets a
   * new pair; the secret the last rotation replaced gets that same pair again
   * within `REFRESH_REUSE_INTERVAL_S` of the rotation (two concurrent
   * refreshes, or a retry after a lost answer); any other secret this server
   * issued for the session is a replay and revokes the session. A secret it
   * never issued (its MAC does not check) is refused and changes nothing: a
   * session id alone, which every access token carries, cannot revoke a
   * session or use up its refresh limit.
   *
   * Errors: UNAUTHENTICATED for a malformed, unknown, expired, revoked or
   * replayed token, or a deleted account; RATE_LIMITED (`RL_REFRESH_SESSION`).
   */
  async refresh(refreshToken: string): Promise<IssuedSession> {
    const dot = refreshToken.indexOf('.');
    const sessionId = dot > 0 ? refreshToken.slice(0, dot) : '';
    const secret = dot > 0 ? refreshToken.slice(dot + 1) : '';
    if (!sessionId || !secret) throw unauthenticated('invalid refresh token');
    const issued = this.isIssued(sessionId, secret);
    // A secret of the format before issued secrets carried a MAC can only be its session's current one.
    if (!issued && secret.length !== LEGACY_SECRET_LENGTH) throw unauthenticated('invalid refresh token');
    if (issued) await this.limits.consume('refreshSession', sessionId);
    const hash = sha256(secret);
    // Two rounds at most: a rotation lost to a concurrent one is then a reuse within the interval.
    for (let round = 0; round < 2; round++) {
      const em = this.em();
      const session = await em.findOne(SessionRow, { id: sessionId });
      if (!session || session.revokedAt || session.expiresAt < new Date()) throw unauthenticated('refresh token expired or revoked');
      if (sameHash(session.refreshHash, hash)) {
        // Whole seconds: the access token's iat is this instant, and a reuse signs it again from the row.
        const rotatedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
        const next = this.nextSecret(sessionId, session.generation, secret);
        const won = await em.nativeUpdate(
          SessionRow,
          { id: sessionId, generation: session.generation, refreshHash: session.refreshHash, revokedAt: null },
          { prevRefreshHash: hash, refreshHash: sha256(next), generation: session.generation + 1, rotatedAt },
        );
        if (won === 1) return this.rotated(session, session.generation, secret, rotatedAt);
        continue;
      }
      const reuseUntil = (session.rotatedAt?.getTime() ?? 0) + this.config.sessions.refreshReuseS * 1000;
      if (session.prevRefreshHash && sameHash(session.prevRefreshHash, hash) && Date.now() <= reuseUntil) {
        return this.rotated(session, session.generation - 1, secret, session.rotatedAt!);
      }
      break;
    }
    if (!issued) throw unauthenticated('invalid refresh token');
    await this.revokeSession(sessionId);
    throw new AppError(ErrorCode.UNAUTHENTICATED, 'refresh token reused: the session is revoked');
  }

  /** The secret that replaces `secret` of `generation`: derived, so a reuse can give it again without storing it. */
  private nextSecret(sessionId: string, generation: number, secret: string): string {
    return this.issue(sessionId, createHmac('sha256', this.rotationKey).update(`${sessionId}.${generation}.${secret}`).digest('base64url'));
  }

  /** A refresh secret for the session: `body` (43 characters) and its MAC (22), so the server knows its own secrets. */
  private issue(sessionId: string, body: string): string {
    return body + this.macOf(sessionId, body);
  }

  private macOf(sessionId: string, body: string): string {
    return createHmac('sha256', this.rotationKey).update(`issued.${sessionId}.${body}`).digest().subarray(0, 16).toString('base64url');
  }

  /** Whether this server issued `secret` for the session (at any generation). */
  private isIssued(sessionId: string, secret: string): boolean {
    if (secret.length !== ISSUED_SECRET_LENGTH) return false;
    const body = secret.slice(0, LEGACY_SECRET_LENGTH);
    return sameHash(secret.slice(LEGACY_SECRET_LENGTH), this.macOf(sessionId, body));
  }

  /** The pair a rotation of `secret` (of `generation`) at `rotatedAt` issued: the same bytes every time. */
  private async rotated(session: SessionRow, generation: number, secret: string, rotatedAt: Date): Promise<IssuedSession> {
    const user = await this.em().findOne(User, { id: session.userId, deletedAt: null });
    if (!user) throw unauthenticated('account no longer exists');
    const tokenId = createHmac('sha256', this.rotationKey).update(`jti.${session.id}.${generation}`).digest('base64url').slice(0, 22);
    const access = this.signer.sign(
      { userId: user.id, sessionId: session.id, deviceId: session.deviceId },
      { issuedAt: Math.floor(rotatedAt.getTime() / 1000), tokenId },
    );
    const next = this.nextSecret(session.id, generation, secret);
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: `${session.id}.${next}`, deviceId: session.deviceId, user };
  }

  /**
   * Revokes the refresh token at once and the access tokens with it: the row
   * is the truth, Redis's cached liveness is overwritten, and open sockets of
   * the session close (SESSION_REVOKED; sockets also re-check every
   * `SESSION_RECHECK_S`, should that message be lost).
   */
  async revokeSession(sessionId: string): Promise<void> {
    await this.em().nativeUpdate(SessionRow, { id: sessionId, revokedAt: null }, { revokedAt: new Date() });
    await this.sessions.markRevoked(sessionId);
    this.pubSub.publish('SESSION_REVOKED', { sessionId });
  }

  async revokeAllSessions(userId: string): Promise<void> {
    const sessions = await this.em().find(SessionRow, { userId, revokedAt: null }, { fields: ['id'] });
    for (const s of sessions) await this.revokeSession(s.id);
  }

  /** Verifies an access token and that its session is live (the row, cached in Redis). */
  async authenticate(token: string): Promise<AccessClaims> {
    const claims = this.signer.verify(token);
    if (!(await this.sessions.isLive(claims.sessionId))) throw unauthenticated('session revoked');
    return claims;
  }

  private async openSession(em: EntityManager, user: User, deviceId?: string | null): Promise<IssuedSession> {
    const device = checkOptionalText(deviceId, TEXT.deviceId) ?? randomUUID();
    const id = randomUUID();
    const secret = this.issue(id, randomBytes(32).toString('base64url'));
    em.create(SessionRow, {
      id,
      userId: user.id,
      deviceId: device,
      refreshHash: sha256(secret),
      expiresAt: new Date(Date.now() + this.config.jwt.refreshTtlS * 1000),
    });
    await em.flush();
    // A new device starts from now: sync returns what arrives after its first login,
    // history() scrolls back further.
    // INSERT IGNORE (MariaDB) / ON CONFLICT DO NOTHING (SQLite): a device that logs in again keeps its cursor.
    await em
      .createQueryBuilder(DeviceCursor)
      .insert({ userId: user.id, deviceId: device, lastAck: raw('(SELECT COALESCE(MAX(id), 0) FROM message)') })
      .onConflict(['userId', 'deviceId'])
      .ignore()
      .execute('run');
    const access = this.signer.sign({ userId: user.id, sessionId: id, deviceId: device });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: `${id}.${secret}`, deviceId: device, user };
  }
}
