import Queue from 'bee-queue';
import type { Encoded } from './jobs';

/** A job as the engine builds it: bee-queue's Job, or the in-process queue's (memory-queue.ts). */
export interface QueueJob<T> {
  /** Set by setId, or given at save when unset. */
  id: string;
  data: T;
  /** Saving a job whose id is waiting, active or delayed (being retried) is a no-op (D3). */
  setId(id: string): this;
  /** How many times a failed job runs again (6 runs in all for 5). */
  retries(n: number): this;
  /**
   * The wait before each rerun: `fixed`, `delayMs` each time; `exponential`,
   * `delayMs`, then twice that, and so on; `immediate`, none (the default).
   * Errors: an unknown strategy, or a delay that is not a positive integer.
   */
  backoff(strategy: 'immediate' | 'fixed' | 'exponential', delayMs?: number): this;
  /** A run longer than `ms` counts as failed (the run itself is not stopped); 0: no limit. */
  timeout(ms: number): this;
}

/** Jobs per state, as bee-queue's checkHealth counts them. */
export interface QueueHealth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  succeeded: number;
}

/**
 * What the engine and the metrics use of a job queue; bee-queue's Queue
 * satisfies it as it is, and so does MemoryQueue. Jobs run at least once:
 * a failed (or timed-out) run is rerun after its backoff until its retries
 * are spent. Events: `failed` (job, err) after every failed run, the last
 * one included (as bee-queue 2 emits it), with `retrying` before it when
 * the job runs again and `failed:fatal` after it when it does not; `error`
 * (err) for the queue's own trouble; `stalled` (jobId) when a job whose
 * worker died is rerun (bee-queue only).
 */
export interface JobQueue<T> {
  readonly name: string;
  createJob(data: T): QueueJob<T>;
  /**
   * Saves jobs made by this queue's createJob, in order. Resolves with the
   * jobs that could not be saved and why (empty when all were); rejects when
   * the queue is closed or cannot be reached.
   */
  saveAll(jobs: QueueJob<T>[]): Promise<Map<QueueJob<T>, Error>>;
  /** Starts running jobs, at most `concurrency` at a time; a rejection of `handler` is a failed run. Once per queue. */
  process(concurrency: number, handler: (job: QueueJob<T>) => Promise<unknown>): void;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'failed' | 'retrying' | 'failed:fatal', listener: (job: QueueJob<T>, err: Error) => void): this;
  on(event: 'stalled', listener: (jobId: string) => void): this;
  /** Reruns jobs whose worker died (D5), now and every `intervalMs`; resolves with how many it found now. */
  checkStalledJobs(intervalMs?: number): Promise<number>;
  checkHealth(): Promise<QueueHealth>;
  ready(): Promise<unknown>;
  /**
   * Takes no new job and waits at most `timeoutMs` (5000 by default) for the
   * running ones; rejects when they outlast it. Idempotent.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** The two queues of a node: `fanout` splits a group message into per-recipient delivery jobs, `delivery` pushes to one user's devices (D5). */
export interface Queues {
  delivery: JobQueue<Encoded>;
  fanout: JobQueue<Encoded>;
}

export interface QueueOptions {
  redisUrl: string;
  prefix: string;
  stallIntervalMs: number;
  /** False for a node that only enqueues. */
  isWorker: boolean;
}

/** A Redis connection's state, as ioredis (`status`) or node_redis under bee-queue (`ready`) shows it. */
export interface ConnectionState {
  status?: string;
  ready?: boolean;
}

/** Named reads of Redis connections' states, for metrics (`im_redis_up`). */
export type Connections = Record<string, () => ConnectionState | null | undefined>;

/**
 * The two bee-queue queues, in Redis, and their own Redis connections
 * (node_redis: `queue-<name>` for commands, `queue-<name>-blocking` for the
 * workers' blocking reads). Results are not reported back (no events), and
 * finished jobs are removed.
 */
export function createQueues(o: QueueOptions): { queues: Queues; connections: Connections } {
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
  const bee = [new Queue<Encoded>('delivery', settings()), new Queue<Encoded>('fanout', settings())];
  const connections: Connections = {};
  for (const q of bee) {
    reloadScriptsOnReconnect(q);
    const clients = q as unknown as { client?: ConnectionState | null; bclient?: ConnectionState | null };
    connections[`queue-${q.name}`] = () => clients.client;
    connections[`queue-${q.name}-blocking`] = () => clients.bclient;
  }
  return { queues: { delivery: bee[0], fanout: bee[1] }, connections };
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
