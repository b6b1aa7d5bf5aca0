/** A push found `max` values already waiting unread. */
export class QueueFull extends Error {}

type Waiter<T> = { resolve(r: IteratorResult<T>): void; reject(e: unknown): void };

/**
 * The async iterator a `messages` subscription reads: values are pushed in
 * from outside and read in order. Nothing runs until the first `next()`: then
 * `start` gets the push function. `stop` runs once, after a start, when the
 * reader returns or `start` failed (whose error the pending or next read
 * gets); `abandon` runs instead when the stream ends before it started (the
 * reader returned before its first read). At most `max` values wait unread; a push beyond that, or after the
 * end, throws, so the delivery counts as not sent.
 *
 * It replaces two stacked Repeaters (the stream and graphql-yoga's `map`),
 * whose promise bookkeeping per push was 5 % of the server's CPU in a group
 * fan-out.
 */
export class PushStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiting: Waiter<T>[] = [];
  private started = false;
  private ended = false;
  private error: { e: unknown } | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly hooks: { start(push: (v: T) => void): Promise<void>; stop(): Promise<void>; abandon?(): Promise<void> },
    private readonly max = 1024,
  ) {}

  private readonly push = (v: T): void => {
    if (this.ended) throw new Error('the stream has ended');
    const w = this.waiting.shift();
    if (w) w.resolve({ value: v, done: false });
    else if (this.queue.length >= this.max) throw new QueueFull(`more than ${this.max} values wait unread`);
    else this.queue.push(v);
  };

  next(): Promise<IteratorResult<T>> {
    if (!this.started && !this.ended) {
      this.started = true;
      this.hooks.start(this.push).catch((e) => void this.end({ e }));
    }
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.error) {
      const { e } = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.end();
    return { value: undefined, done: true };
  }

  async throw(e?: unknown): Promise<IteratorResult<T>> {
    await this.end();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(error?: { e: unknown }): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.queue.length = 0;
      const waiting = this.waiting.splice(0);
      if (error && waiting.length) waiting.shift()!.reject(error.e);
      else this.error = error;
      for (const w of waiting) w.resolve({ value: undefined, done: true });
      this.stopped = this.started ? this.hooks.stop() : (this.hooks.abandon?.() ?? Promise.resolve());
    }
    return this.stopped!;
  }
}
