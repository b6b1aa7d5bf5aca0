import { MemorySessionCache, RedisSessionCache, type SessionCache } from './auth/session-status';
import type { Config } from './config';
import type { Connections, DeliveryTransport } from './delivery';
import { RateLimits } from './limits/rate-limits';
import type { Logger } from './logger';
import { type AppPubSub, createMemoryPubSub, createRedisPubSub } from './pubsub';
import { createRedis, Keys, type Redis } from './redis';
import { type Cache, RedisCache } from './services/cache';
import { type LastSeenStore, MemoryLastSeen, RedisLastSeen } from './services/last-seen';
import { MemoryCache } from './services/memory-cache';
import { redisStartupError } from './startup';

/**
 * Everything that lives in Redis in cluster mode and in this process in
 * embedded mode, chosen once by config.mode. Delivery's own parts are built
 * by createDelivery from `delivery`.
 */
export interface Infra {
  pubSub: AppPubSub;
  sessionCache: SessionCache;
  limits: RateLimits;
  cache: Cache;
  lastSeen: LastSeenStore;
  /** Names of cache keys (and, in cluster mode, of Redis keys and channels). */
  keys: Keys;
  delivery: DeliveryTransport;
  /** Readiness of these parts for GET /readyz: `{ redis }` in cluster mode, nothing in embedded mode (the database is main's). */
  ready(): Promise<Record<string, boolean>>;
  /** Redis connections by name, for `im_redis_up`; none in embedded mode. */
  connections: Connections;
}

/** Registers a part's disposer with the composition root (run in reverse on stop, or when startup fails later). */
export type OnDispose = (name: string, dispose: () => Promise<unknown>) => void;

/**
 * Builds the Redis-or-memory parts for config.mode. Errors: StartupError when
 * Redis cannot be reached at first (cluster mode); what was built before the
 * error has its disposer registered already.
 */
export async function createInfra(config: Config, log: Logger, onDispose: OnDispose): Promise<Infra> {
  return config.mode === 'embedded' ? memoryInfra(config) : redisInfra(config, log, onDispose);
}

/** One node alone: pub/sub, caches, rate limits and delivery in this process; nothing to dispose. */
function memoryInfra(config: Config): Infra {
  return {
    pubSub: createMemoryPubSub(),
    sessionCache: new MemorySessionCache(config.sessions.cacheTtlS),
    limits: new RateLimits(config.rateLimits, null),
    cache: new MemoryCache(config.cache.ttlS),
    lastSeen: new MemoryLastSeen(),
    keys: new Keys(config.redis.prefix),
    delivery: { kind: 'memory' },
    ready: async () => ({}),
    connections: {},
  };
}

/** Any number of nodes sharing one Redis: a command client, a subscriber for pub/sub, and one for the rate limiter. */
async function redisInfra(config: Config, log: Logger, onDispose: OnDispose): Promise<Infra> {
  const url = config.redis.url;
  if (!url) throw new Error('cluster mode without REDIS_URL'); // config.ts refuses that
  const redis = createRedis(url, 'im-main', log);
  onDispose('redis', () => redis.quit());
  await connectRedis(redis, url);
  const keys = new Keys(config.redis.prefix);
  // A subscriber connection cannot run other commands, hence its own client.
  const redisSub = createRedis(url, 'im-sub', log);
  onDispose('redis-sub', () => redisSub.quit());
  await connectRedis(redisSub, url);
  // rate-limiter-flexible defines its Lua command on its client: a client of its own, without auto-pipelining (see createRedis).
  const limitsRedis = createRedis(url, 'im-limits', log, { autoPipelining: false });
  onDispose('redis-limits', () => limitsRedis.quit());
  await limitsRedis.connect();
  return {
    pubSub: createRedisPubSub(redis, redisSub, `${config.redis.prefix}ps:`),
    sessionCache: new RedisSessionCache(redis, keys, config.sessions.cacheTtlS),
    limits: new RateLimits(config.rateLimits, { redis: limitsRedis, prefix: config.redis.prefix }),
    cache: new RedisCache(redis, config.cache.ttlS),
    lastSeen: new RedisLastSeen(redis, keys.lastSeen()),
    keys,
    delivery: { kind: 'redis', url, publisher: redis, keys },
    ready: async () => ({ redis: await redis.ping().then(() => true, () => false) }),
    connections: { main: () => redis, pubsub: () => redisSub },
  };
}

/**
 * Connects a Redis client for the first time; a failure becomes a StartupError
 * built from the client's own connection error (the rejected connect only says
 * "Connection is closed.").
 */
async function connectRedis(client: Redis, url: string): Promise<void> {
  let last: unknown;
  const remember = (e: unknown) => {
    last = e;
  };
  client.on('error', remember);
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw redisStartupError(url, last ?? e);
  } finally {
    client.off('error', remember);
  }
}
