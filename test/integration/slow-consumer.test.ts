import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { makeFriends, send, syncAll } from '../support/chat';
import { registerUser, startServer, type TestServer } from '../support/harness';

// A socket that stops reading while messages pour in: once WS_PUSH_QUEUE pushes
// wait unread on its `messages` subscription, the server closes it 4431 rather
// than hold it, and its next sync returns every message it did not acknowledge.

let s: TestServer;
before(async () => {
  s = await startServer({ WS_PUSH_QUEUE: '2', ACK_TIMEOUT_MS: '500' });
});
after(async () => {
  await s?.close();
});

async function failures(): Promise<number> {
  const text = await (await fetch(s.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('im_deliveries_total{') && l.includes('outcome="failure"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('a slow consumer is closed 4431 with a reason, and its sync returns what it missed', async () => {
  const [alice, bob] = [await registerUser(s.url), await registerUser(s.url)];
  await makeFriends(s.url, alice, bob);
  const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
  await new Promise<void>((resolve) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } })));
    ws.on('message', (m) => {
      if (JSON.parse(String(m)).type !== 'connection_ack') return;
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { messages { id } }' } }));
      resolve();
    });
  });
  await new Promise((r) => setTimeout(r, 300));
  // Stop reading: the kernel's buffers fill, then the server's writes wait, then its stream queue.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const content = 'x'.repeat(4000);
  const sent: string[] = [];
  const before = await failures();
  for (let batch = 0; batch < 60 && (await failures()) === before; batch++) {
    const ids = await Promise.all(Array.from({ length: 100 }, () => send(s.url, alice, { userId: bob.id }, content)));
    sent.push(...ids.map((m) => m.id));
  }
  assert.ok((await failures()) > before, `the stream overflowed within ${sent.length} messages`);
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const how = await closed;
  assert.equal(how.code, 4431);
  assert.match(how.reason, /slow consumer/);

  // Nothing was acknowledged on the dead socket: the device's sync returns every message sent to it.
  const got = new Set((await syncAll(s.url, bob, 500)).map((m) => m.id));
  for (const id of sent) assert.ok(got.has(id), `message ${id} comes back in the sync`);
});
