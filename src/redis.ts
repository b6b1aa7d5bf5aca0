import Redis from 'ioredis';
import type { Logger } from './logger';

export type { Redis };

/** Key names live here so every module shares one prefix (tests run under their own). */
export class Keys {
  constructor(readonly prefix: string) {}
  /** Cached liveness of a session: "1" live, "0" revoked (see auth/session-status.ts). */
  session = (sessionId: string) => `${this.prefix}session:${sessionId}`;
  userCache = (userId: string) => `${this.prefix}cache:user:${userId}`;
  groupMembers = (groupId: string) => `${this.prefix}cache:gm:${groupId}`;
  presence = (userId: string) => `${this.prefix}presence:${userId}`;
  conn = (connectionId: string) => `${this.prefix}conn:${connectionId}`;
  nodeChannel = (nodeId: string) => `${this.prefix}node:${nodeId}`;
  ackChannel = () => `${this.prefix}acks`;
  queuePrefix = () => `${this.prefix}bq`;
}

/**
 * A Redis client that connects on connect() (lazyConnect) and reconnects by
 * itself. Connection errors after it was ready once go to `log` as warnings;
 * without a listener ioredis would print each one with its stack to stderr.
 * Errors before that are left to whoever awaits connect() (main.ts turns them
 * into one startup line).
 */
export function createRedis(url: string, name: string, log?: Logger): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let wasReady = false;
  client.once('ready', () => {
    wasReady = true;
  });
  client.on('error', (err) => {
    if (wasReady) log?.warn({ err, redis: name }, 'Redis connection error');
  });
  return client;
}
