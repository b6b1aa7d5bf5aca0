import { decodeAck, encodeAck } from './jobs';
import { ackKey } from './rules';
import type { Wire } from './wire';

/**
 * Waits for acknowledges. A delivery job registers (user, device, message) and
 * waits; an acknowledge on this node resolves it at once, one on another node
 * arrives over the wire's ack channel (Redis, D20; alone on its wire, a node
 * resolves only its own waits). Matching is per device: an acknowledge
 * from another device of the same user resolves nothing (D6).
 */
export class AckBus {
  private readonly waiting = new Map<string, Set<(ok: boolean) => void>>();

  constructor(
    private readonly wire: Wire,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    await this.wire.listen(this.channel, (message) => {
      try {
        const f = decodeAck(message);
        this.resolveLocal(f.userId, f.deviceId, f.messageIds);
      } catch {
        // A frame we cannot read resolves nothing; the job's timeout records a failure.
      }
    });
  }

  /** Resolves true on acknowledge, false on timeout or cancel. */
  wait(userId: string, deviceId: string, messageId: string, timeoutMs: number): Promise<boolean> {
    const key = ackKey(userId, deviceId, messageId);
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) this.waiting.set(key, (set = new Set()));
      const done = (ok: boolean) => {
        clearTimeout(timer);
        const s = this.waiting.get(key);
        s?.delete(done);
        if (s && !s.size) this.waiting.delete(key);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      set.add(done);
    });
  }

  /** An acknowledge from (user, device): resolve here, and tell other nodes about what is not waited for here. */
  async acknowledge(userId: string, deviceId: string, messageIds: string[]): Promise<void> {
    const rest = this.resolveLocal(userId, deviceId, messageIds);
    if (rest.length) await this.wire.publish(this.channel, encodeAck({ userId, deviceId, messageIds: rest }));
  }

  /** Returns the ids nobody on this node waited for. */
  private resolveLocal(userId: string, deviceId: string, messageIds: string[]): string[] {
    const rest: string[] = [];
    for (const id of messageIds) {
      const set = this.waiting.get(ackKey(userId, deviceId, id));
      if (set) [...set].forEach((done) => done(true));
      else rest.push(id);
    }
    return rest;
  }

  /** Ends every wait as not acknowledged (shutdown). */
  cancelAll(): void {
    for (const set of this.waiting.values()) [...set].forEach((done) => done(false));
    this.waiting.clear();
  }
}
