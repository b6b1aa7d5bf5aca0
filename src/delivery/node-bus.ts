import type { Logger } from '../logger';
import type { MessageRow } from './message-source';
import { type DeliveryMetrics, noDeliveryMetrics } from './metrics';
import type { Connection, RemoteConnection } from './presence';
import { PushStream, QueueFull } from './push-stream';
import type { Wire } from './wire';

type Frame = { c: string; m: MessageRow };

/**
 * Carries pushes to sockets. A socket on this node gets its push in-process;
 * one on another node gets it through that node's single channel on the
 * wire (Redis, D20), which each node subscribes to once at start, so no push
 * can be published before a per-socket subscription exists. Alone on its
 * wire (embedded mode), a node finds every other node gone.
 */
export class NodeBus {
  private readonly local = new Map<string, (m: MessageRow) => void>();
  /**
   * Called once when a socket's stream has `pushQueue` pushes waiting unread:
   * the transport closes that socket (a slow consumer), and the push that
   * found the queue full counts as not sent (D6: failure, so sync returns it).
   */
  onSlowConsumer: (c: Connection) => void = () => undefined;

  constructor(
    readonly nodeId: string,
    private readonly wire: Wire,
    private readonly channelOf: (nodeId: string) => string,
    private readonly log: Logger,
    private readonly pushQueue = 1024,
    private readonly metrics: Pick<DeliveryMetrics, 'pushLatency'> = noDeliveryMetrics,
  ) {}

  /** Hands a push to a socket of this node (its stream, which graphql-ws writes from at once). */
  private handOver(deliver: (m: MessageRow) => void, m: MessageRow): void {
    deliver(m);
    this.metrics.pushLatency((Date.now() - m.created_at.getTime()) / 1000);
  }

  async start(): Promise<void> {
    await this.wire.listen(this.channelOf(this.nodeId), (payload) => {
      try {
        const f = JSON.parse(payload.toString()) as Frame;
        f.m.created_at = new Date(f.m.created_at);
        const deliver = this.local.get(f.c);
        if (deliver) this.handOver(deliver, f.m);
      } catch (err) {
        // A full stream's socket is being closed (onSlowConsumer); the push's job counts it as not sent.
        if (err instanceof QueueFull) return;
        this.log.warn({ err }, 'unreadable push frame');
      }
    });
  }

  /** Pushes a message to one socket, wherever it is. Resolves once handed over (not once acknowledged). */
  async push(to: RemoteConnection, message: MessageRow): Promise<void> {
    if (to.nodeId === this.nodeId) {
      const deliver = this.local.get(to.connectionId);
      if (!deliver) throw new Error('connection is gone');
      this.handOver(deliver, message);
      return;
    }
    const frame: Frame = { c: to.connectionId, m: message };
    const receivers = await this.wire.publish(this.channelOf(to.nodeId), JSON.stringify(frame));
    if (receivers === 0) throw new Error(`node ${to.nodeId} is gone`);
  }

  /**
   * The stream of one `messages` subscription (`conn.connectionId` is the
   * subscription's own), each row as `as` makes it. `onOpen` runs after the
   * stream can receive (so the subscription is never present but deaf) and
   * `onClose` once when the subscriber or the socket goes away, also when
   * that happens before the stream started.
   */
  open<T>(conn: Connection, as: (m: MessageRow) => T, onOpen: () => Promise<void>, onClose: () => Promise<void>): AsyncIterableIterator<T> {
    let mine: ((m: MessageRow) => void) | undefined;
    let slow = false;
    const close = () => onClose().catch((err) => this.log.warn({ err }, 'closing a message stream failed'));
    return new PushStream<T>({
      start: async (push) => {
        mine = (m) => {
          try {
            push(as(m));
          } catch (e) {
            if (!slow && e instanceof QueueFull) {
              slow = true;
              this.onSlowConsumer(conn);
            }
            throw e;
          }
        };
        this.local.set(conn.connectionId, mine);
        await onOpen();
      },
      stop: async () => {
        if (this.local.get(conn.connectionId) === mine) this.local.delete(conn.connectionId);
        await close();
      },
      abandon: close,
    }, this.pushQueue);
  }
}
