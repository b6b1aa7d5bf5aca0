import { EventEmitter } from 'node:events';
import { withDeadline } from './deadline';
import type { JobQueue, QueueHealth, QueueJob, Queues } from './queues';
import type { Encoded } from './jobs';

type Strategy = 'immediate' | 'fixed' | 'exponential';

/** A job of a MemoryQueue; its options follow bee-queue's Job (lib/job.js). */
export class MemoryJob<T> implements QueueJob<T> {
  id: string;
  readonly options: { retries: number; backoff?: { strategy: Strategy; delay: number }; timeout?: number } = { retries: 0 };

  constructor(readonly data: T) {
    this.id = '';
  }

  setId(id: string): this {
    this.id = id;
    return this;
  }

  retries(n: number): this {
    if (n < 0) throw new Error('Retries cannot be negative');
    this.options.retries = n;
    return this;
  }

  backoff(strategy: Strategy, delayMs?: number): this {
    if (!['immediate', 'fixed', 'exponential'].includes(strategy)) throw new Error('unknown strategy');
    if (strategy !== 'immediate' && (!Number.isSafeInteger(delayMs) || delayMs! <= 0)) throw new Error('delay must be a positive integer');
    this.options.backoff = { strategy, delay: delayMs ?? 0 };
    return this;
  }

  timeout(ms: number): this {
    if (ms < 0) throw new Error('Timeout cannot be negative');
    this.options.timeout = ms;
    return this;
  }

  /** The wait before the next run (ms), or -1 when no retry is left; `exponential` doubles its delay for the time after (as bee-queue). */
  nextDelay(): number {
    if (this.options.retries <= 0) return -1;
    const b = this.options.backoff;
    if (!b || b.strategy === 'immediate') return 0;
    const delay = b.delay;
    if (b.strategy === 'exponential') b.delay *= 2;
    return delay;
  }
}

/**
 * bee-queue's semantics, as far as the engine uses them, for one process
 * without Redis (embedded mode): job ids (saving a job whose id is waiting,
 * active or delayed is a no-op), at-least-once runs with retries and
 * fixed or exponential backoff, a per-job timeout, a concurrency limit, the
 * same events (JobQueue), and close(timeoutMs) waiting for running jobs.
 * Jobs run in the order they were saved; a rerun goes to the back.
 *
 * Jobs live in this process only: a crash, or a close(), loses those waiting
 * and those waiting for a retry, and a job still running at close is not
 * retried (D11: a job may vanish). Sync heals it: the pushes were for
 * sockets that close with the process, each device is fenced when it
 * attaches again (D7) and its next sync returns what it has not
 * acknowledged (D12); the client's seq gap check (D14) covers a lost
 * late-commit guard. Nothing stalls, so checkStalledJobs finds nothing.
 */
export class MemoryQueue<T> extends EventEmitter implements JobQueue<T> {
  private waiting: MemoryJob<T>[] = [];
  private head = 0;
  /** Ids of the jobs waiting, running or waiting for a retry. */
  private readonly known = new Set<string>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly active = new Set<Promise<void>>();
  private handler?: (job: QueueJob<T>) => Promise<unknown>;
  private concurrency = 0;
  private running = 0;
  private lastId = 0;
  private closing?: Promise<void>;

  constructor(readonly name: string) {
    super();
  }

  createJob(data: T): MemoryJob<T> {
    return new MemoryJob(data);
  }

  async saveAll(jobs: QueueJob<T>[]): Promise<Map<QueueJob<T>, Error>> {
    if (this.closing) throw new Error('closed');
    const errors = new Map<QueueJob<T>, Error>();
    for (const job of jobs) {
      if (!(job instanceof MemoryJob)) {
        errors.set(job, new Error('not a job of this queue'));
        continue;
      }
      if (!job.id) job.id = String(++this.lastId);
      if (this.known.has(job.id)) continue; // D3: a repeat of a job still to run is the same job
      this.known.add(job.id);
      this.waiting.push(job);
    }
    this.pump();
    return errors;
  }

  process(concurrency: number, handler: (job: QueueJob<T>) => Promise<unknown>): void {
    if (this.handler) throw new Error('Cannot call Queue#process twice');
    if (this.closing) throw new Error('closed');
    this.concurrency = Math.max(1, concurrency);
    this.handler = handler;
    this.pump();
  }

  /** Nothing stalls in one process (a hung run is cut by its timeout): finds nothing, now or later. */
  async checkStalledJobs(_intervalMs?: number): Promise<number> {
    return 0;
  }

  async checkHealth(): Promise<QueueHealth> {
    return { waiting: this.waiting.length - this.head, active: this.running, delayed: this.delayed.size, failed: 0, succeeded: 0 };
  }

  async ready(): Promise<this> {
    return this;
  }

  close(timeoutMs = 5000): Promise<void> {
    if (this.closing) return this.closing;
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    this.waiting = [];
    this.head = 0;
    const drain = Promise.all([...this.active]).then(() => undefined);
    this.closing = withDeadline(drain, timeoutMs > 0 ? timeoutMs : 5000, `closing queue ${this.name}`);
    return this.closing;
  }

  /** Starts waiting jobs while a worker slot is free. */
  private pump(): void {
    while (this.handler && !this.closing && this.running < this.concurrency && this.head < this.waiting.length) {
      const job = this.waiting[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      this.run(job);
    }
  }

  private run(job: MemoryJob<T>): void {
    this.running++;
    // A handler that throws at once fails its run like one that rejects.
    let work = new Promise<unknown>((resolve) => resolve(this.handler!(job)));
    if (job.options.timeout) work = withDeadline(work, job.options.timeout, `job ${job.id}`);
    const done: Promise<void> = work
      .then(() => this.finish(job, undefined), (err: unknown) => this.finish(job, err instanceof Error ? err : new Error(String(err))))
      // A listener that threw: reported as bee-queue does (uncaught without an 'error' listener).
      .catch((err: unknown) => process.nextTick(() => this.emit('error', err)))
      .finally(() => this.active.delete(done));
    this.active.add(done);
  }

  /** A run ended: the job is done, rerun after its backoff, or failed for good. Events go out last. */
  private finish(job: MemoryJob<T>, err: Error | undefined): void {
    this.running--;
    const delay = err ? job.nextDelay() : -1;
    if (err && delay >= 0) {
      job.options.retries--;
      if (this.closing) this.known.delete(job.id); // lost with the queue (see the class)
      else this.retryLater(job, delay);
    } else this.known.delete(job.id);
    this.pump();
    if (!err) this.emit('succeeded', job);
    else if (delay >= 0) {
      this.emit('retrying', job, err);
      this.emit('failed', job, err);
    } else {
      this.emit('failed', job, err);
      this.emit('failed:fatal', job, err);
    }
  }

  private retryLater(job: MemoryJob<T>, delay: number): void {
    if (delay === 0) {
      this.waiting.push(job);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.waiting.push(job);
      this.pump();
    }, delay);
    this.delayed.add(timer);
  }
}

/** The node's two queues, in this process (embedded mode). */
export function createMemoryQueues(): Queues {
  return { delivery: new MemoryQueue<Encoded>('delivery'), fanout: new MemoryQueue<Encoded>('fanout') };
}
