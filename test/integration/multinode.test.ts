import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { device, makeFriends, send, syncAll, waitOnline } from '../support/chat';
import { collect, ok, registerUser, sleep, startServer, type TestServer, wsClient } from '../support/harness';

// cluster-only: several nodes share MariaDB and Redis.

// D20: two server nodes on one MariaDB and one Redis (same database, same prefix).
let n1: TestServer;
let n2: TestServer;
before(async () => {
  n1 = await startServer({ ACK_TIMEOUT_MS: '2000' });
  n2 = await startServer({}, n1.env);
});
after(async () => {
  await n2?.close();
  await n1?.close(); // the first owns the database and prefix and removes them
});

test('D20: a device on node 2 gets a message sent through node 1, and its acknowledge through node 1 resolves the job', async () => {
  const a = await registerUser(n1.url);
  const b = await registerUser(n1.url);
  await makeFriends(n1.url, a, b);
  const dev = device(n2.url, n2.wsUrl, b, { autoAck: false });
  await waitOnline(n1.url, b);
  await syncAll(n1.url, b);
  const sent = [];
  for (let i = 0; i < 10; i++) sent.push(await send(n1.url, a, { userId: b.id }, `x${i}`));
  await dev.sub.waitFor(10);
  assert.deepEqual(dev.pushed().map((m) => m.id), sent.map((m) => m.id));
  // Acknowledge on the other node: whichever node runs each job hears it over Redis.
  await ok(n1.url, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }', { ids: sent.map((m) => m.id) }, b.token);
  await sleep(500);
  const state = await ok(n2.url, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { lastAck lastAckErr } }', { ids: [] }, b.token);
  assert.equal(state.acknowledge.lastAck, sent[9].id, 'every push was recorded as a success');
  assert.equal(state.acknowledge.lastAckErr, null);
  await dev.client.dispose();
});

test('D20: presence and notifications cross nodes', async () => {
  const a = await registerUser(n1.url);
  const c = await registerUser(n2.url);
  const client = wsClient(n2.wsUrl, { authorization: `Bearer ${c.token}` });
  const notes = collect<{ notifications: { type: string; sender: { id: string } } }>(client, 'subscription { notifications { type sender { id } } }');
  const msgs = collect(client, 'subscription { messages { id } }');
  await waitOnline(n1.url, c);
  const request = await ok(n1.url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: c.id }, a.token);
  const [n] = await notes.waitFor(1);
  assert.deepEqual(n.notifications, { type: 'FRIEND_REQUEST', sender: { id: a.id } });
  // Presence is for contacts: once friends (answered on the other node), a on n1 sees c on n2 online.
  await ok(n2.url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: request.sendFriendRequest.id }, c.token);
  const seen = await ok(n1.url, 'query($id: ID!) { user(id: $id) { online } }', { id: c.id }, a.token);
  assert.equal(seen.user.online, true);
  msgs.dispose();
  await client.dispose();
  for (let i = 0; i < 50; i++) {
    if (!(await ok(n1.url, 'query($id: ID!) { user(id: $id) { online } }', { id: c.id }, a.token)).user.online) return;
    await sleep(50);
  }
  assert.fail('the user stayed online after the socket closed');
});
