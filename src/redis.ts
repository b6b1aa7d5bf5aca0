import Redis from 'ioredis';

export type { Redis };

/** Key names live here so every module shares one prefix (tests run under their own). */
export class Keys {
  constructor(readonly prefix: string) {}
  /** Cached liveness of a session: "1" live, "0" revoked (see auth/session-status.ts). */
  session = (sessionId: string) => `${this.prefix}session:${sessionId}`;
  userCache = (userId: string) => `${this.prefix}cache:user:${userId}`;
  groupMembers = (groupId: string) => `${this.prefix}cache:gm:${groupId}`;
  presence = (userId: string) => `${this.prefix}presence:${userId}`;
  /** Hash user id -> epoch ms of when the user was last seen (services/last-seen.ts). */
  lastSeen = () => `${this.prefix}seen`;
  conn = (connectionId: string) => `${this.prefix}conn:${connectionId}`;
  nodeChannel = (nodeId: string) => `${this.prefix}node:${nodeId}`;
  ackChannel = () => `${this.prefix}acks`;
  queuePrefix = () => `${this.prefix}bq`;
}

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
