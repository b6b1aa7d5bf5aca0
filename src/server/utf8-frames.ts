import { isUtf8 } from 'node:buffer';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger';

/** RFC 6455 §7.4.1: 1007, data inconsistent with the message's type (here: text that is not UTF-8). */
export const INVALID_UTF8_CLOSE = 1007;

/**
 * Closes the socket 1007 "invalid UTF-8" at the first binary frame whose bytes
 * are not UTF-8, before graphql-ws sees it, and passes no later frame on.
 *
 * ws checks text frames itself (and closes 1007), but hands a binary frame
 * over as bytes, which graphql-ws's ws adapter decodes with String(data):
 * each bad byte would become U+FFFD, and a message would be stored with text
 * its sender never wrote. HTTP refuses such a body (400); this is the
 * socket's side of the same rule. Binary frames of valid UTF-8 are served as
 * text frames are (some clients send JSON as bytes).
 *
 * Install on 'connection' before graphql-ws's own listener: it wraps the
 * socket's `emit` of 'message' (data: Buffer, ArrayBuffer or Buffer[] as ws's
 * binaryType gives it; isBinary: boolean).
 */
export function utf8FramesOnly(socket: WebSocket, log: Logger): void {
  let refused = false;
  const emit = socket.emit.bind(socket);
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'message') return emit(event, ...args);
    if (refused) return true; // frames already read behind the bad one: the socket is closing
    const [data, isBinary] = args as [RawData, boolean];
    if (isBinary && !isUtf8(Array.isArray(data) ? Buffer.concat(data) : data)) {
      refused = true;
      log.debug('a client sent a binary frame that is not UTF-8');
      socket.close(INVALID_UTF8_CLOSE, 'invalid UTF-8');
      return true;
    }
    return emit(event, ...args);
  }) as typeof socket.emit;
}
