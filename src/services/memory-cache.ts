import { BoundedMap } from '../bounded-map';
import type { Cache, CacheRead } from './cache';

/**
 * The cache in this process (embedded mode), at most `maxEntries` entries
 * (least recently used go first). The version rule (Cache) with one counter
 * for the whole cache instead of one per key: a read's version is the
 * counter's value, each invalidation takes the next value and remembers it
 * for its key, and a fill is refused when its key was invalidated at a
 * later value. At most `maxInvalidations` keys are remembered; forgetting
 * the oldest raises a floor instead, below which every fill is refused, so
 * forgetting can only cost a cache miss, never let a stale fill in.
 */
export class MemoryCache implements Cache {
  private readonly values: BoundedMap<string, string>;
  /** key -> the counter's value at its last invalidation (oldest first). */
  private readonly invalidated: BoundedMap<string, number>;
  private counter = 0;
  private floor = 0;

  constructor(
    readonly ttlS: number,
    o: { maxEntries?: number; maxInvalidations?: number } = {},
  ) {
    this.values = new BoundedMap({ max: o.maxEntries ?? 50_000, ttlMs: ttlS * 1000, touchOnRead: true });
    this.invalidated = new BoundedMap({
      max: o.maxInvalidations ?? 100_000,
      onEvict: (_key, at) => (this.floor = Math.max(this.floor, at)),
    });
  }

  async read(keys: readonly string[]): Promise<CacheRead> {
    const version = String(this.counter);
    return { values: keys.map((k) => this.values.get(k) ?? null), versions: keys.map(() => version) };
  }

  async fill(key: string, version: string, json: string): Promise<void> {
    const readAt = Number(version); // '' (no version) reads as 0: older than every invalidation
    const changedAt = this.invalidated.get(key) ?? this.floor;
    if (!Number.isSafeInteger(readAt) || changedAt > readAt) return;
    this.values.set(key, json);
  }

  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.invalidated.set(key, ++this.counter);
      this.values.delete(key);
    }
  }
}
