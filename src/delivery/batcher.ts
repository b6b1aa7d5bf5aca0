import { flatParams } from '../db/sql-text';
import { isDeadlock } from './deadlock';

interface Waiter {
  left: number;
  failed: boolean;
  resolve(): void;
  reject(e: unknown): void;
}

interface Row {
  key: string;
  params: unknown[];
  /** One entry per add() row folded into this one (a waiter may appear more than once). */
  waiters: Waiter[];
}

/**
 * Collects rows while a statement is in flight (or for `windowMs`) and sends
 * them together as the next one. Rows with the same key that wait together
 * are folded into one by `merge`; a row whose key is in the statement running
 * now waits for the next. Statements of more than `max` rows are split, and
 * the rest goes at once, without another window.
 */
export class Batcher {
  private pending = new Map<string, Row>();
  private flushing = false;

  constructor(
    private readonly max: number,
    private readonly run: (n: number, params: unknown[]) => Promise<unknown>,
    /** Folds the params of two rows with the same key into one row. */
    private readonly merge: (a: unknown[], b: unknown[]) => unknown[],
    /** How long rows gather before each statement (0: the next turn). */
    private readonly windowMs = 0,
    /** Told the row count of every statement sent (metrics). */
    private readonly onStatement: (rows: number) => void = () => undefined,
  ) {}

  private wait(): Promise<void> {
    return new Promise((r) => (this.windowMs > 0 ? setTimeout(r, this.windowMs) : setImmediate(r)));
  }

  /** Resolves when every row has been written (rejects with the first statement's error). */
  add(rows: ReadonlyArray<{ key: string; params: unknown[] }>): Promise<void> {
    if (!rows.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = { left: rows.length, failed: false, resolve, reject };
      for (const { key, params } of rows) {
        const same = this.pending.get(key);
        if (same) {
          same.params = this.merge(same.params, params);
          same.waiters.push(w);
        } else this.pending.set(key, { key, params, waiters: [w] });
      }
      if (!this.flushing) {
        this.flushing = true;
        void this.wait().then(() => this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.size) {
      const batch: Row[] = [];
      for (const row of this.pending.values()) {
        if (batch.length >= this.max) break;
        batch.push(row);
      }
      for (const row of batch) this.pending.delete(row.key);
      // Rows are sorted so concurrent statements lock in one order; a deadlock is retried.
      batch.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.onStatement(batch.length);
      let error: unknown;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.run(batch.length, flatParams(batch, (r) => r.params));
          break;
        } catch (e) {
          if (attempt < 5 && isDeadlock(e)) {
            await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
            continue;
          }
          error = e;
          break;
        }
      }
      for (const row of batch) for (const w of row.waiters) settle(w, error);
      // More than one statement's worth waited: the rest goes now, not a window later.
      if (this.pending.size && this.windowMs > 0 && batch.length < this.max) await this.wait();
    }
    this.flushing = false;
  }
}

function settle(w: Waiter, error: unknown): void {
  if (w.failed) return;
  if (error !== undefined) {
    w.failed = true;
    w.reject(error);
  } else if (--w.left === 0) w.resolve();
}
