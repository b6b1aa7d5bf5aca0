import type { EntityManager } from '@mikro-orm/knex';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createRedis, type Keys, type Redis } from '../redis';
import { AckBus } from './ack-bus';
import { CursorStore, type Sql } from './cursor-store';
import { DeliveryEngine } from './engine';
import { createMemoryQueues } from './memory-queue';
import { MemoryPresence } from './memory-presence';
import { MessageSource } from './message-source';
import { type DeliveryMetrics, noDeliveryMetrics } from './metrics';
import { NodeBus } from './node-bus';
import { type Presence, RedisPresence } from './presence';
import { type Connections, createQueues, type Queues } from './queues';
import { aloneWire, redisWire, type Wire } from './wire';

export { DeliveryEngine, socketIdOf } from './engine';
export type { MessageRow } from './message-source';
export { type DeliveryMetrics, type DeliveryOutcome, noDeliveryMetrics } from './metrics';
export type { ConnectionState, Connections, JobQueue, Queues } from './queues';

/**
 * What carries presence, pushes, acknowledges and jobs between nodes.
 * `redis` (cluster mode): Redis at `url`, keys and channels named by `keys`,
 * `publisher` a connected client of the caller's (delivery opens its own
 * subscriber and bee-queue's connections besides). `memory` (embedded
 * mode): all of them in this process, for a node that is the only one.
 */
export type DeliveryTransport =
  | { kind: 'redis'; url: string; publisher: Redis; keys: Keys }
  | { kind: 'memory' };

/** The parts that differ by transport. */
interface Parts {
  presence: Presence;
  wire: Wire;
  channels: { node(nodeId: string): string; acks: string };
  queues: Queues;
  connections: Connections;
  close(): Promise<unknown>;
}

async function redisParts(t: Extract<DeliveryTransport, { kind: 'redis' }>, d: { config: Config; log: Logger; nodeId: string }): Promise<Parts> {
  const c = d.config.delivery;
  const subscriber = createRedis(t.url, `im-delivery-sub-${d.nodeId}`, d.log);
  await subscriber.connect();
  try {
    const { queues, connections } = createQueues({ redisUrl: t.url, prefix: t.keys.queuePrefix(), stallIntervalMs: c.stallIntervalMs, isWorker: true });
    return {
      presence: new RedisPresence(t.publisher, t.keys, c.presenceTtlS, d.nodeId),
      wire: redisWire(t.publisher, subscriber),
      channels: { node: t.keys.nodeChannel, acks: t.keys.ackChannel() },
      queues,
      connections: { 'delivery-sub': () => subscriber, ...connections },
      close: () => subscriber.quit(),
    };
  } catch (e) {
    subscriber.disconnect();
    throw e;
  }
}

function memoryParts(nodeId: string): Parts {
  return {
    presence: new MemoryPresence(nodeId),
    wire: aloneWire,
    channels: { node: (n) => `node:${n}`, acks: 'acks' },
    queues: createMemoryQueues(),
    connections: {},
    close: async () => undefined,
  };
}

/**
 * Builds the delivery library for one node: presence, cursor store, the
 * two buses, queues and the engine, over the given transport. dispose()
 * stops them in reverse.
 */
export async function createDelivery(d: {
  config: Config;
  log: Logger;
  transport: DeliveryTransport;
  nodeId: string;
  /** The hand-written SQL path: the batched cursor statements and the sync reads. */
  sql: () => Sql;
  /** A fresh EntityManager (a fork) for the single-row cursor rules. */
  em: () => EntityManager;
  groupAudience(groupId: string, messageId: string): Promise<string[]>;
  syncSecret: Buffer;
  metrics?: DeliveryMetrics;
}) {
  const c = d.config.delivery;
  const metrics = d.metrics ?? noDeliveryMetrics;
  const parts = d.transport.kind === 'redis' ? await redisParts(d.transport, d) : memoryParts(d.nodeId);
  const { presence, queues } = parts;
  try {
    const store = new CursorStore(d.sql, d.em, metrics);
    presence.onLapse = (conn) => store.fence(conn.userId, conn.deviceId); // D7
    const acks = new AckBus(parts.wire, parts.channels.acks);
    const nodes = new NodeBus(d.nodeId, parts.wire, parts.channels.node, d.log.child({ part: 'node-bus' }), d.config.sockets.pushQueue, metrics);
    await acks.start();
    await nodes.start();
    await Promise.all([queues.delivery.ready(), queues.fanout.ready()]);
    const engine = new DeliveryEngine({
      store,
      presence,
      acks,
      nodes,
      queues,
      messages: new MessageSource(d.sql),
      groupAudience: d.groupAudience,
      log: d.log.child({ part: 'delivery' }),
      metrics,
      options: {
        ackTimeoutMs: c.ackTimeoutMs,
        jobTimeoutMs: c.jobTimeoutMs,
        concurrency: c.concurrency,
        fanoutBatch: c.fanoutBatch,
        stallIntervalMs: c.stallIntervalMs,
        syncMaxLimit: c.syncMaxLimit,
        syncSecret: d.syncSecret,
      },
    });
    engine.start();
    return {
      engine,
      presence,
      nodes,
      /** For metrics: the queues, and the states of this library's own Redis connections (none in memory). */
      queues,
      connections: parts.connections,
      async dispose() {
        await engine.stop();
        presence.stop();
        await parts.close();
      },
    };
  } catch (e) {
    await Promise.all([queues.delivery.close(1000), queues.fanout.close(1000)]).catch(() => undefined);
    await parts.close().catch(() => undefined);
    throw e;
  }
}

export type Delivery = Awaited<ReturnType<typeof createDelivery>>;
