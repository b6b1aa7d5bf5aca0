import type { Logger } from '../logger';
import type { Redis } from '../redis';
import type { MessageRow } from './message-source';
import type { Connection, RemoteConnection } from './presence';
import { PushStream } from './push-stream';

type Frame = { c: string; m: MessageRow };

/**
 * Carries pushes to sockets. A socket on this node gets its push in-process;
 * one on another node gets it through that node's single Redis channel (D20),
 * which each node subscribes to once at start, so no push can be published
 * before a per-socket subscription exists.
 */
export class NodeBus {
  private readonly local = new Map<string, (m: MessageRow) => void>();

  constructor(
    readonly nodeId: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channelOf: (nodeId: string) => string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const mine = this.channelOf(this.nodeId);
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      if (channel.toString() !== mine) return;
      try {
        const f = JSON.parse(payload.toString()) as Frame;
        f.m.created_at = new Date(f.m.created_at);
        this.local.get(f.c)?.(f.m);
      } catch (err) {
        this.log.warn({ err }, 'unreadable push frame');
      }
    });
    await this.subscriber.subscribe(mine);
  }

  /** Pushes a message to one socket, wherever it is. Resolves once handed over (not once acknowledged). */
  async push(to: RemoteConnection, message: MessageRow): Promise<void> {
    if (to.nodeId === this.nodeId) {
      const deliver = this.local.get(to.connectionId);
      if (!deliver) throw new Error('connection is gone');
      deliver(message);
      return;
    }
    const frame: Frame = { c: to.connectionId, m: message };
    const receivers = await this.publisher.publish(this.channelOf(to.nodeId), JSON.stringify(frame));
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
    const close = () => onClose().catch((err) => this.log.warn({ err }, 'closing a message stream failed'));
    return new PushStream<T>({
      start: async (push) => {
        mine = (m) => push(as(m));
        this.local.set(conn.connectionId, mine);
        await onOpen();
      },
      stop: async () => {
        if (this.local.get(conn.connectionId) === mine) this.local.delete(conn.connectionId);
        await close();
      },
      abandon: close,
    });
  }
}
