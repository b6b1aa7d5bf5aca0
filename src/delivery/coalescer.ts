/**
 * Runs one call for everything added while the previous call was in flight
 * (or within the same event-loop turn). Each add() settles with the call that
 * carried its items: callers see their own success or failure, and a failed
 * call fails only the items it carried.
 */
export class Coalescer<T> {
  private pending: Array<{ items: T[]; done: (e?: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly maxItems = 512,
  ) {}

  add(items: T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ items, done: (e) => (e === undefined ? resolve() : reject(e)) });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      let n = 0;
      let count = 0;
      while (n < this.pending.length && (n === 0 || count + this.pending[n].items.length <= this.maxItems)) {
        count += this.pending[n].items.length;
        n++;
      }
      const batch = this.pending.splice(0, n);
      try {
        await this.run(batch.flatMap((b) => b.items));
        batch.forEach((b) => b.done());
      } catch (e) {
        batch.forEach((b) => b.done(e ?? new Error('failed')));
      }
    }
    this.running = false;
  }
}
