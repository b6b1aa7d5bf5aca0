import { type AttachEvent, type AttachPhase, type AttachState, attachSettled, initialAttach, stepAttach } from './rules/attachment';

/**
 * Attaches in progress, per device. A client subscribes to `messages` and
 * then syncs on the same socket without waiting (D14): graphql-ws gives it
 * no signal that the subscription is live. A sync read taken before the
 * attach's fence and presence would carry a token the attach makes stale, and
 * its page would be read and sent for nothing. So a sync read of a device
 * first waits for that device's attaches on this node, never longer than
 * `maxWaitMs` (a stream that never starts does not hold a sync up).
 */
export class Attaching {
  private readonly pending = new Map<string, Set<Promise<void>>>();

  constructor(private readonly maxWaitMs: number) {}

  /** Marks one attach of the device as begun; call the returned function when it has ended, however. */
  begin(userId: string, deviceId: string): () => void {
    const key = `${userId}|${deviceId}`;
    let end!: () => void;
    const p = new Promise<void>((r) => (end = r));
    const set = this.pending.get(key) ?? new Set<Promise<void>>();
    set.add(p);
    this.pending.set(key, set);
    return () => {
      end();
      set.delete(p);
      if (!set.size && this.pending.get(key) === set) this.pending.delete(key);
    };
  }

  /** Resolves when the device has no attach in progress here, or after maxWaitMs. */
  async settled(userId: string, deviceId: string): Promise<void> {
    const set = this.pending.get(`${userId}|${deviceId}`);
    if (!set?.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(set), new Promise<void>((r) => (timer = setTimeout(r, this.maxWaitMs)))]);
    clearTimeout(timer);
  }
}

/** The I/O of one subscription's attach and detach (D7); see rules/attachment.ts for their order. */
export interface AttachSteps {
  /** Fences the device's cursor. */
  fence(): Promise<void>;
  /** Marks the subscription present. */
  mark(): Promise<void>;
  /** Marks it absent, then fences. */
  detach(): Promise<void>;
}

type Deferred = { promise: Promise<void>; resolve(): void; reject(e: unknown): void };
const deferred = (): Deferred => {
  const d = {} as Deferred;
  d.promise = new Promise<void>((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
};

/**
 * Runs one `messages` subscription's steps as `stepAttach` orders them: one
 * at a time, and a close that comes mid-attach takes effect when the running
 * step ends, so a subscription that ended is never left present (nor
 * renewed) whatever the order of events.
 */
export class Attachment {
  private state: AttachState = initialAttach();
  private readonly started = deferred();
  private readonly ended = deferred();
  private settled = false;
  private attachError: unknown;
  private detachError: unknown;

  /** `onSettled` runs once, when the attach is over however it went (see Attaching.begin). */
  constructor(
    private readonly steps: AttachSteps,
    private readonly onSettled: () => void = () => undefined,
  ) {
    // Nobody need wait on these: the stream reads start(), the stop hook close().
    this.started.promise.catch(() => undefined);
    this.ended.promise.catch(() => undefined);
  }

  /** The phase now (for tests and diagnostics). */
  get phase(): AttachPhase {
    return this.state.phase;
  }

  /** Attaches: resolves once present (or once a close cut the attach short); rejects with a failed step's error. */
  start(): Promise<void> {
    this.fire('start');
    return this.started.promise;
  }

  /** Ends the subscription: resolves once nothing is present for it; rejects if the detach failed (the entry then lapses by its TTL). */
  close(): Promise<void> {
    this.fire('close');
    return this.ended.promise;
  }

  private fire(e: AttachEvent): void {
    const { state, run } = stepAttach(this.state, e);
    this.state = state;
    if (!this.settled && attachSettled(state)) {
      this.settled = true;
      this.onSettled();
      if (state.phase === 'failed') this.started.reject(this.attachError);
      else this.started.resolve();
    }
    if (state.phase === 'closed') {
      if (this.detachError !== undefined) this.ended.reject(this.detachError);
      else this.ended.resolve();
    }
    if (!run) return;
    const done: AttachEvent = run === 'fence' ? 'fenced' : run === 'mark' ? 'marked' : 'detached';
    this.steps[run]().then(
      () => this.fire(done),
      (err: unknown) => {
        if (run === 'detach') this.detachError = err ?? new Error('detach failed');
        else this.attachError = err ?? new Error('attach failed');
        this.fire(run === 'detach' ? 'detached' : 'failed');
      },
    );
  }
}
