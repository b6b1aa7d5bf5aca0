import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { coalesceWrites } from '../../src/server/coalesce-writes';

/** A server socket (wrapped or not) whose writes to the kernel are counted, and a client that collects the frames. */
async function pair(wrap: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await once(client, 'open');
  const [server] = await accepted;
  // Count the writes the TCP socket hands to the kernel (Writable's _write/_writev hooks).
  const raw = (server as unknown as { _socket: Record<string, (...a: unknown[]) => unknown> })._socket;
  let writes = 0;
  for (const hook of ['_write', '_writev']) {
    const original = raw[hook].bind(raw);
    raw[hook] = (...a: unknown[]) => {
      writes++;
      return original(...a);
    };
  }
  if (wrap) coalesceWrites(server);
  const frames: string[] = [];
  client.on('message', (m) => frames.push(String(m)));
  return {
    server,
    frames,
    writes: () => writes,
    async close() {
      client.terminate();
      server.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** Sends n frames the way graphql-ws does: each after the previous one's callback. */
async function sendChained(ws: WebSocket, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve, reject) => ws.send(`frame ${i}`, (e) => (e ? reject(e) : resolve())));
}

test('frames sent one after another within a turn arrive together, in order, each callback called', async () => {
  const p = await pair(true);
  await sendChained(p.server, 5);
  while (p.frames.length < 5) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(p.frames, ['frame 0', 'frame 1', 'frame 2', 'frame 3', 'frame 4']);
  assert.equal(p.writes(), 1, 'one write for the five frames');
  await p.close();
});

// The same sends on a plain ws socket: one write per frame. Shows the test above can fail.
test('without coalescing the same frames take one write each', async () => {
  const p = await pair(false);
  await sendChained(p.server, 5);
  while (p.frames.length < 5) await new Promise((r) => setTimeout(r, 5));
  assert.equal(p.writes(), 5);
  await p.close();
});

test('a sender facing a full buffer waits for the kernel again (backpressure kept)', async () => {
  const p = await pair(true);
  const big = 'x'.repeat(1 << 20);
  let early = 0;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 4; i++) {
    sends.push(new Promise<void>((resolve, reject) => p.server.send(big, (e) => (e ? reject(e) : resolve()))));
    void sends[i].then(() => early++);
  }
  await Promise.resolve();
  await Promise.resolve();
  // The first send answered at once; those queued behind more than 1 MiB did not.
  assert.ok(early < 4, `callbacks before any flush: ${early}`);
  await Promise.all(sends);
  while (p.frames.length < 4) await new Promise((r) => setTimeout(r, 5));
  await p.close();
});
