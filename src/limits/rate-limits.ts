import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit, RateLimitName } from '../config';
import { AppError, ErrorCode } from '../errors';
import type { Redis } from '../redis';

/** RATE_LIMITED with `extensions.retryAfterMs`: how long until the caller may try again. */
export const rateLimited = (what: string, retryAfterMs: number) =>
  new AppError(ErrorCode.RATE_LIMITED, `too many ${what}; try again in ${Math.ceil(retryAfterMs / 1000)} s`, {
    retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)),
  });

/** What each limit counts, for its refusal message. */
const WHAT: Record<RateLimitName, string> = {
  loginAccount: 'failed logins for this account',
  loginIp: 'failed logins from this address',
  registerIp: 'registrations from this address',
  refreshSession: 'refreshes of this session',
  sendBurst: 'messages in a short time',
  sendSustained: 'messages',
  friendRequest: 'friend requests',
  groupCreate: 'groups created',
  markRead: 'read marks',
  typing: 'typing notices',
};

/**
 * The server's rate limits, one rate-limiter-flexible limiter per name (set
 * in config.ts: `RL_*`). With Redis they count across every node; an
 * in-memory limiter per node stands in while Redis cannot be reached (the
 * library's insurance limiter), so an outage neither opens the gates nor
 * refuses everyone. Without Redis (store null) they count per process.
 *
 * The Redis limiter defines its Lua command on the client it is given
 * (`defineCommand`), so that client must not auto-pipeline (see createRedis).
 */
export class RateLimits {
  private readonly limiters = new Map<RateLimitName, RateLimiterAbstract>();

  constructor(limits: Record<RateLimitName, RateLimit | null>, store: { redis: Redis; prefix: string } | null) {
    for (const [name, l] of Object.entries(limits) as Array<[RateLimitName, RateLimit | null]>) {
      if (!l) continue;
      const opts = { points: l.points, duration: l.durationS, blockDuration: l.blockS, keyPrefix: `rl:${name}` };
      const memory = new RateLimiterMemory(opts);
      this.limiters.set(
        name,
        store
          ? new RateLimiterRedis({ ...opts, keyPrefix: `${store.prefix}rl:${name}`, storeClient: store.redis, insuranceLimiter: memory })
          : memory,
      );
    }
  }

  /** Takes one point of `name` for `key`. Errors: RATE_LIMITED (details.retryAfterMs) when none is left. */
  async consume(name: RateLimitName, key: string): Promise<void> {
    const limiter = this.limiters.get(name);
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw rateLimited(WHAT[name], e.msBeforeNext);
      throw e;
    }
  }

  /** Gives back one point of `name` taken for `key` (an attempt that turned out not to count). */
  async refund(name: RateLimitName, key: string): Promise<void> {
    await this.limiters.get(name)?.reward(key);
  }

  /** Forgets `key`'s count of `name` (a successful login clears the account's failures). */
  async reset(name: RateLimitName, key: string): Promise<void> {
    await this.limiters.get(name)?.delete(key);
  }
}
