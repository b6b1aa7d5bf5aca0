import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/mariadb';
import { hashPassword, verifyPassword, dummyHash } from '../auth/password';
import type { AccessClaims, TokenSigner } from '../auth/tokens';
import type { Config } from '../config';
import { Role, SessionRow, User } from '../entities';
import { AppError, ErrorCode, conflict, unauthenticated } from '../errors';
import type { AppPubSub } from '../pubsub';
import type { Keys, Redis } from '../redis';
import { accountKey, checkOptionalText, checkText, TEXT } from './text';

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: Date;
  deviceId: string;
  user: User;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Accounts and sessions. Refresh tokens are "<sessionId>.<secret>"; only the
 * hash of the newest secret is stored, so any other secret for a live session
 * is a replay and revokes the whole session.
 */
export class AuthService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly signer: TokenSigner,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
    private readonly pubSub: AppPubSub,
  ) {}

  async register(input: { account: string; password: string; name?: string | null; deviceId?: string | null }): Promise<IssuedSession> {
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
      if ((e as { code?: string }).code === 'ER_DUP_ENTRY' || /Duplicate entry/.test(String(e))) {
        throw conflict(`account "${input.account}" is taken`);
      }
      throw e;
    }
    return this.openSession(em, user, input.deviceId);
  }

  async login(input: { account: string; password: string; deviceId?: string | null }): Promise<IssuedSession> {
    const em = this.em();
    const user = await em.findOne(User, { accountKey: accountKey(checkText(input.account, TEXT.loginAccount)), deletedAt: null }, { populate: ['passwordHash'] });
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), checkText(input.password, TEXT.loginPassword));
    if (!user || !ok) throw unauthenticated('wrong account or password');
    return this.openSession(em, user, input.deviceId);
  }

  async refresh(refreshToken: string): Promise<IssuedSession> {
    const [sessionId, secret] = refreshToken.split('.');
    if (!sessionId || !secret) throw unauthenticated('invalid refresh token');
    const em = this.em();
    const session = await em.findOne(SessionRow, { id: sessionId });
    if (!session || session.revokedAt || session.expiresAt < new Date()) throw unauthenticated('refresh token expired or revoked');
    if (!sameHash(session.refreshHash, sha256(secret))) {
      await this.revokeSession(sessionId);
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'refresh token reused: the session is revoked');
    }
    const next = randomBytes(32).toString('base64url');
    // Compare-and-set on the generation so two concurrent refreshes with the same token cannot both win.
    const res = await em.nativeUpdate(
      SessionRow,
      { id: sessionId, generation: session.generation, revokedAt: null },
      { refreshHash: sha256(next), generation: session.generation + 1 },
    );
    if (res !== 1) {
      await this.revokeSession(sessionId);
      throw unauthenticated('refresh token reused: the session is revoked');
    }
    const user = await em.findOne(User, { id: session.userId, deletedAt: null });
    if (!user) throw unauthenticated('account no longer exists');
    const access = this.signer.sign({ userId: user.id, sessionId, deviceId: session.deviceId });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: `${sessionId}.${next}`, deviceId: session.deviceId, user };
  }

  /** Revokes the refresh token at once and the access tokens until they expire. */
  async revokeSession(sessionId: string): Promise<void> {
    await this.em().nativeUpdate(SessionRow, { id: sessionId, revokedAt: null }, { revokedAt: new Date() });
    await this.redis.set(this.keys.revokedSession(sessionId), '1', 'EX', this.config.jwt.accessTtlS + 5);
    this.pubSub.publish('SESSION_REVOKED', { sessionId });
  }

  async revokeAllSessions(userId: string): Promise<void> {
    const sessions = await this.em().find(SessionRow, { userId, revokedAt: null }, { fields: ['id'] });
    for (const s of sessions) await this.revokeSession(s.id);
  }

  /** Verifies an access token and that its session was not revoked. */
  async authenticate(token: string): Promise<AccessClaims> {
    const claims = this.signer.verify(token);
    if (await this.redis.exists(this.keys.revokedSession(claims.sessionId))) throw unauthenticated('session revoked');
    return claims;
  }

  private async openSession(em: EntityManager, user: User, deviceId?: string | null): Promise<IssuedSession> {
    const device = checkOptionalText(deviceId, TEXT.deviceId) ?? randomUUID();
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
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
    await em.getConnection().execute(
      'INSERT IGNORE INTO device_cursor (user_id, device_id, last_ack) SELECT ?, ?, COALESCE(MAX(id), 0) FROM message',
      [user.id, device],
    );
    const access = this.signer.sign({ userId: user.id, sessionId: id, deviceId: device });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: `${id}.${secret}`, deviceId: device, user };
  }
}
