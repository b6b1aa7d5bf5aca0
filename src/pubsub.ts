import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { Redis } from './redis';

/**
 * Live pushes to subscriptions, across nodes through Redis pub/sub (D20).
 * Topics are per receiver: a node subscribes to a Redis channel only while it
 * holds a socket listening on it, so there is no per-event filtering.
 */
export type Topics = {
  /** A stored notification for one user (payload: the wire object). */
  NOTIFICATION: [userId: string, payload: Record<string, unknown>];
  /** A message push for one socket (D6). */
  MESSAGE: [connectionId: string, payload: Record<string, unknown>];
  /** A read receipt for one user (D16). */
  READ_RECEIPT: [userId: string, payload: Record<string, unknown>];
  /** A typing notice for one user (best effort, services/typing.service.ts). */
  TYPING: [userId: string, payload: { userId: string; groupId: string | null; ttlMs: number }];
  /** A session was revoked (logout, refresh reuse, deleted user): its sockets close on every node. */
  SESSION_REVOKED: [payload: { sessionId: string }];
};

export type AppPubSub = PubSub<Topics>;

export function createRedisPubSub(publishClient: Redis, subscribeClient: Redis, prefix: string): AppPubSub {
  const target = createRedisEventTarget({ publishClient, subscribeClient });
  return createPubSub<Topics>({ eventTarget: withPrefix(target, prefix) as never });
}

/** Namespaces the Redis channels, so servers sharing a Redis under other prefixes never cross-talk. */
function withPrefix(target: EventTarget, prefix: string): EventTarget {
  return {
    addEventListener: (type, cb, opts) => target.addEventListener(prefix + type, cb, opts),
    removeEventListener: (type, cb, opts) => target.removeEventListener(prefix + type, cb, opts),
    dispatchEvent: (ev) => target.dispatchEvent(new CustomEvent(prefix + ev.type, { detail: (ev as CustomEvent).detail })),
  };
}

/**
 * In this process only: the pub/sub of an embedded node (the only one), and
 * the schema printer's.
 */
export function createMemoryPubSub(): AppPubSub {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return createPubSub<Topics>({ eventTarget: target as never });
}
