import type { EntityManager } from '@mikro-orm/knex';
import { SessionRow } from '../entities';
import type { Keys, Redis } from '../redis';

/**
 * Whether a session may still act: the `session` row is the truth (not
 * revoked, not expired), Redis only caches the answer. A Redis that restarts
 * empty, or cannot be reached, therefore costs a database read and never lets
 * a revoked session back in (issue: revocation that survives Redis).
 *
 * Cache values under `Keys.session(id)`: `"1"` live, `"0"` revoked, for
 * `cacheTtlS` seconds. A revocation writes the row first, then `"0"`; should
 * that write fail while Redis still answers reads, a stale `"1"` lives at most
 * `cacheTtlS` seconds.
 */
export class SessionStatus {
  constructor(
    private readonly em: () => EntityManager,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cacheTtlS: number,
  ) {}

  /** True while the session row exists, is not revoked and has not expired. */
  async isLive(sessionId: string): Promise<boolean> {
    const cached = await this.redis.get(this.keys.session(sessionId)).catch(() => null);
    if (cached === '1') return true;
    if (cached === '0') return false;
    const live = await this.readRow(sessionId);
    await this.redis.set(this.keys.session(sessionId), live ? '1' : '0', 'EX', this.cacheTtlS).catch(() => undefined);
    return live;
  }

  /**
   * Live sessions among `sessionIds`, one MGET and one SELECT for the misses:
   * an open socket's session is re-checked with this (a revocation whose
   * pub/sub message was lost, e.g. across a Redis restart, still closes it).
   */
  async liveOf(sessionIds: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    if (!sessionIds.length) return live;
    const cached = await this.redis.mget(...sessionIds.map((s) => this.keys.session(s))).catch(() => sessionIds.map(() => null));
    const misses: string[] = [];
    sessionIds.forEach((s, i) => {
      if (cached[i] === '1') live.add(s);
      else if (cached[i] !== '0') misses.push(s);
    });
    if (misses.length) {
      const rows = await this.em().find(SessionRow, { id: misses, revokedAt: null, expiresAt: { $gt: new Date() } }, { fields: ['id'] });
      for (const r of rows) live.add(r.id);
    }
    return live;
  }

  /** Called after the row was marked revoked. */
  async markRevoked(sessionId: string): Promise<void> {
    await this.redis.set(this.keys.session(sessionId), '0', 'EX', this.cacheTtlS).catch(() => undefined);
  }

  private async readRow(sessionId: string): Promise<boolean> {
    const row = await this.em().findOne(SessionRow, { id: sessionId }, { fields: ['revokedAt', 'expiresAt'] });
    return !!row && !row.revokedAt && row.expiresAt > new Date();
  }
}
