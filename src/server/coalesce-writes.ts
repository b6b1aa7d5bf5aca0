import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

type Callback = (err?: Error) => void;

/** Past this many unsent bytes a sender waits for the kernel again (a slow reader). */
const EAGER_LIMIT = 1 << 20;

/**
 * Frames a socket sends within one event-loop turn leave in one write.
 *
 * ws writes every frame with its own syscall, and on this path a loopback
 * write costs tens of microseconds, because the kernel runs the receiver's
 * TCP work inside it. graphql-ws answers an operation with two frames (next,
 * then complete) and waits for the first write's callback before the second.
 * So the TCP socket is corked at the first frame of a turn and uncorked when
 * the turn ends, and while little is buffered a sender's callback runs at once
 * instead of after the flush, which lets `complete` (and any push queued
 * behind it) join `next` in the same write. Order is kept; a write error still
 * closes the socket, which graphql-ws sees.
 */
export function coalesceWrites(ws: WebSocket): void {
  const raw = (ws as unknown as { _socket?: Socket })._socket;
  if (!raw) return;
  const send = ws.send.bind(ws) as (data: unknown, options?: unknown, cb?: Callback) => void;
  let corked = false;
  ws.send = ((data: unknown, options?: unknown, cb?: unknown) => {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    if (!corked && raw.writable) {
      corked = true;
      raw.cork();
      setImmediate(() => {
        corked = false;
        raw.uncork();
      });
    }
    const done = cb as Callback | undefined;
    if (!done || ws.bufferedAmount > EAGER_LIMIT) return send(data, options, done);
    send(data, options, () => undefined);
    queueMicrotask(() => done());
  }) as WebSocket['send'];
}
