/**
 * A Map with a size bound and an optional time to live, for the in-process
 * stand-ins of Redis (embedded mode). Past `max` entries the oldest go first:
 * oldest by write, or by use when `touchOnRead` (least recently used). An
 * expired entry reads as missing and is dropped when met; the bound caps
 * what expired entries nobody reads again can hold.
 *
 * `onEvict(key, value)` runs for entries pushed out by the bound (not for
 * expired, deleted or overwritten ones).
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly o: { max: number; ttlMs?: number; touchOnRead?: boolean; onEvict?: (key: K, value: V) => void },
  ) {
    if (!(o.max >= 1)) throw new Error('BoundedMap: max must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.o.touchOnRead) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e.value;
  }

  /** Sets `key` (as the newest entry) for `ttlMs` (default: the map's; none: no expiry). */
  set(key: K, value: V, ttlMs = this.o.ttlMs, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : now + ttlMs });
    while (this.entries.size > this.o.max) {
      const [oldest, e] = this.entries.entries().next().value as [K, { value: V }];
      this.entries.delete(oldest);
      this.o.onEvict?.(oldest, e.value);
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
