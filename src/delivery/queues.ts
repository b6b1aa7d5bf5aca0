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
    activateDelayedJobs: false,
  });
  return {
    delivery: new Queue<Encoded>('delivery', settings()),
    fanout: new Queue<Encoded>('fanout', settings()),
  };
}

export type Queues = ReturnType<typeof createQueues>;
