import Queue from 'bee-queue';
import type { Encoded } from './jobs';

export interface QueueOptions {
  redisUrl: string;
  prefix: string;
  stallIntervalMs: number;
  /** False for a node that only enqueues. */
  isWorker: boolean;
}

/**
 * The two bee-queue queues: `fanout` splits a group message into per-recipient
 * delivery jobs, `delivery` pushes one message to one user's devices (D5).
 * Results are not reported back (no events), and finished jobs are removed.
 */
export function createQueues(o: QueueOptions) {
  const settings = (): Queue.QueueSettings => ({
    prefix: o.prefix,
    redis: { url: o.redisUrl } as never,
    isWorker: o.isWorker,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    stallInterval: o.stallIntervalMs,
    // Failed jobs come back after a backoff (an outage of MariaDB or Redis outlasts immediate retries).
    activateDelayedJobs: true,
  });
  const queues = {
    delivery: new Queue<Encoded>('delivery', settings()),
    fanout: new Queue<Encoded>('fanout', settings()),
  };
  reloadScriptsOnReconnect(queues.delivery);
  reloadScriptsOnReconnect(queues.fanout);
  return queues;
}

// bee-queue's script loader (not in its typings): SCRIPT EXISTS, then SCRIPT LOAD what is missing.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lua = require('bee-queue/lib/lua') as { buildCache(client: unknown): Promise<unknown> };

/**
 * bee-queue loads its Lua scripts into Redis once, when it connects, and from then
 * on only calls EVALSHA. A Redis restart (or failover, or SCRIPT FLUSH) forgets them,
 * and every enqueue and stall check would fail with NOSCRIPT until this process
 * restarts (D11: sends answer UNAVAILABLE forever). Load them again whenever the
 * queue's command connection is ready again, and whenever a NOSCRIPT is reported.
 */
function reloadScriptsOnReconnect(q: Queue<Encoded>): void {
  void q.ready().then(
    () => {
      const client = (q as unknown as { client: NodeJS.EventEmitter }).client;
      const reload = () => void lua.buildCache(client).catch((err: unknown) => q.emit('error', err as Error));
      client.on('ready', reload);
      q.on('error', (err: Error & { code?: string }) => {
        if (err?.code === 'NOSCRIPT' || /NOSCRIPT/.test(String(err?.message))) reload();
      });
    },
    () => undefined,
  );
}

export type Queues = ReturnType<typeof createQueues>;
