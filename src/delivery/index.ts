import type { Config } from '../config';
import type { Logger } from '../logger';
import { createRedis, type Keys } from '../redis';
import { AckBus } from './ack-bus';
import { CursorStore, type Sql } from './cursor-store';
import { DeliveryEngine } from './engine';
import { MessageSource } from './message-source';
import { type DeliveryMetrics, noDeliveryMetrics } from './metrics';
import { NodeBus } from './node-bus';
import { Presence } from './presence';
import { type Connections, createQueues } from './queues';

export { DeliveryEngine, socketIdOf } from './engine';
export type { MessageRow } from './message-source';
export { type DeliveryMetrics, type DeliveryOutcome, noDeliveryMetrics } from './metrics';
export type { ConnectionState, Connections, JobQueue, Queues } from './queues';

/**
 * Builds the delivery library for one node: presence, cursor store, the
 * two buses, queues and the engine. dispose() stops them in reverse.
 */
export async function createDelivery(d: {
  config: Config;
  log: Logger;
  keys: Keys;
  nodeId: string;
  sql: () => Sql;
  publisher: import('ioredis').default;
  groupAudience(groupId: string, messageId: string): Promise<string[]>;
  syncSecret: Buffer;
  metrics?: DeliveryMetrics;
}) {
  const c = d.config.delivery;
  const metrics = d.metrics ?? noDeliveryMetrics;
  const subscriber = createRedis(d.config.redis.url!, `im-delivery-sub-${d.nodeId}`, d.log);
  await subscriber.connect();
  const store = new CursorStore(d.sql, metrics);
  const presence = new Presence(d.publisher, d.keys, c.presenceTtlS, d.nodeId);
  presence.onLapse = (conn) => store.fence(conn.userId, conn.deviceId); // D7
  const acks = new AckBus(d.publisher, subscriber, d.keys.ackChannel());
  const nodes = new NodeBus(d.nodeId, d.publisher, subscriber, d.keys.nodeChannel, d.log.child({ part: 'node-bus' }), d.config.sockets.pushQueue, metrics);
  await acks.start();
  await nodes.start();
  const { queues, connections } = createQueues({ redisUrl: d.config.redis.url!, prefix: d.keys.queuePrefix(), stallIntervalMs: c.stallIntervalMs, isWorker: true });
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
    /** For metrics: the queues, and the states of this library's own Redis connections. */
    queues,
    connections: { 'delivery-sub': () => subscriber, ...connections } as Connections,
    async dispose() {
      await engine.stop();
      presence.stop();
      await subscriber.quit();
    },
  };
}
