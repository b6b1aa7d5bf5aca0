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
