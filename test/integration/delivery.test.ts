import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConnection } from 'mariadb';
import { createGroup, device, makeFriends, MESSAGE_FIELDS, send, syncAll, waitOnline } from '../support/chat';
import { clusterOnly, errorCode, gql, ok, openDb, registerUser, sleep, startServer, type TestServer, type TestUser } from '../support/harness';

let s: TestServer;
before(async () => {
  s = await startServer({ ACK_TIMEOUT_MS: '800', PRESENCE_TTL_S: '30' });
});
after(async () => {
  await s?.close();
});

async function pair(): Promise<[TestUser, TestUser]> {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await makeFriends(s.url, a, b);
  return [a, b];
}

const countMessages = async (): Promise<number> => {
  const c = await openDb(s);
  try {
    const [r] = await c.query('SELECT COUNT(*) AS n FROM message');
    return Number(r.n);
  } finally {
    await c.end();
  }
};

test('D6/D9: an online device gets the push, acknowledges it, and its next sync is empty', async () => {
  const [a, b] = await pair();
  const dev = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  await syncAll(s.url, b);
  const m = await send(s.url, a, { userId: b.id }, 'hello 👋');
  const [pushed] = await dev.sub.waitFor(1);
  assert.equal(pushed.messages.id, m.id);
  assert.equal(pushed.messages.content, 'hello 👋');
  // The job records the success once the acknowledge reaches it.
  for (let i = 0; i < 50 && !dev.acked.includes(m.id); i++) await sleep(20);
  await sleep(100);
  const r = await ok(s.url, '{ sync { messages { id } hasMore } }', {}, b.token);
  assert.deepEqual(r.sync.messages, []);
  await dev.client.dispose();
});

test('D7/D8: a socket dropped before its acknowledge loses nothing: reconnect and sync returns it', async () => {
  const [a, b] = await pair();
  const dev = device(s.url, s.wsUrl, b, { autoAck: false });
  await waitOnline(s.url, b);
  await syncAll(s.url, b);
  const m = await send(s.url, a, { userId: b.id }, 'are you there?');
  await dev.sub.waitFor(1);
  await dev.client.dispose(); // gone before acknowledging
  await sleep(1000); // the ack timeout passes: failure recorded
  const again = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  const got = await syncAll(s.url, b);
  assert.deepEqual(got.map((x) => x.id), [m.id]);
  await again.client.dispose();
});

/** One query or mutation over the socket: graphql-ws runs a socket's frames in the order they came. */
async function overSocket<T = any>(client: ReturnType<typeof device>['client'], query: string, variables?: Record<string, unknown>): Promise<T> {
  for await (const r of client.iterate<T>({ query, variables })) {
    if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
    return r.data as T;
  }
  throw new Error('no result');
}

test('D14: a sync sent right behind the messages subscribe on the same socket reads after the attach, so its ack is accepted', async () => {
  const [a, b] = await pair();
  for (let i = 0; i < 3; i++) await send(s.url, a, { userId: b.id }, `while away ${i}`);
  for (let round = 0; round < 5; round++) {
    // subscribe and sync without waiting in between, as D14 has a client do after every connect
    const dev = device(s.url, s.wsUrl, b);
    const r = await overSocket(dev.client, `{ sync(limit: 50) { messages { id } hasMore syncToken } }`);
    const last = r.sync.messages.at(-1)?.id ?? '1';
    const a2 = await overSocket(dev.client, 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted } }', { u: last, t: r.sync.syncToken });
    assert.equal(a2.acknowledgeSync.accepted, true, `round ${round}: the first page's token was read before the attach`);
    if (round === 0) assert.equal(r.sync.messages.length, 3);
    else assert.equal(r.sync.messages.length, 0);
    await dev.client.dispose();
    await sleep(100);
  }
});

// D7: the end of the messages subscription, not only of the socket, detaches the device.
test('completing the messages subscription on a socket that stays open marks the device absent', async () => {
  const [, b] = await pair();
  const dev = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  dev.sub.dispose(); // graphql-ws sends Complete; the socket stays open
  let online = true;
  for (let i = 0; i < 100 && online; i++) {
    online = (await ok(s.url, '{ me { online } }', {}, b.token)).me.online;
    if (online) await sleep(20);
  }
  assert.equal(online, false, 'still present after the subscription completed');
  assert.equal((await overSocket(dev.client, '{ me { id } }')).me.id, b.id, 'the socket still answers');
  await dev.client.dispose();
});

test('D12: a receiver offline for many messages gets all of them from sync, in order, paged', async () => {
  const [a, b] = await pair();
  const sent: string[] = [];
  for (let i = 0; i < 120; i++) sent.push((await send(s.url, a, { userId: b.id }, `m${i}`)).id);
  const dev = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  const got = await syncAll(s.url, b, 50);
  assert.deepEqual(got.map((m) => m.id), sent);
  assert.deepEqual(got.map((m) => m.seq), sent.map((_, i) => i + 1));
  await dev.client.dispose();
});

test('D13a: a lower id committing after a sync read, whose push then fails, is not lost', clusterOnly('SQLite writes one transaction at a time, so no id can commit after a higher one (nothing to hold open beside the server)'), async () => {
  const [a, b] = await pair();
  const c = await registerUser(s.url);
  await makeFriends(s.url, c, b);
  await send(s.url, a, { userId: b.id }, 'opens the conversation');
  const dev = device(s.url, s.wsUrl, b, { autoAck: false });
  await waitOnline(s.url, b);
  await syncAll(s.url, b);
  // Hold A's conversation_member row: A's next send takes its id, then waits before its commit.
  const db = await createConnection({ host: '127.0.0.1', user: 'root', database: s.dbName });
  await db.query('BEGIN');
  await db.query('SELECT * FROM conversation_member WHERE user_id = ? FOR UPDATE', [a.id]);
  const lowerSend = send(s.url, a, { userId: b.id }, 'lower id, late commit');
  await sleep(300);
  const higher = await send(s.url, c, { userId: b.id }, 'higher id, early commit');
  const read = await ok(s.url, `{ sync { messages { ${MESSAGE_FIELDS} } hasMore syncToken } }`, {}, b.token);
  assert.deepEqual(read.sync.messages.map((m: { id: string }) => m.id), [higher.id]);
  // The higher id's push is acknowledged (a success moves lastAck past the still uncommitted lower id).
  await dev.sub.waitFor(1);
  await ok(s.url, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }', { ids: [higher.id] }, b.token);
  await db.query('COMMIT');
  await db.end();
  const lower = await lowerSend;
  assert.ok(BigInt(lower.id) < BigInt(higher.id));
  await sleep(1200); // B never acknowledges the push of the lower id: failure recorded
  const ack = await ok(s.url, 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted lastAck } }', { u: higher.id, t: read.sync.syncToken }, b.token);
  assert.equal(ack.acknowledgeSync.accepted, false, 'the stale token must not wipe the failure');
  const got = await syncAll(s.url, b);
  assert.ok(got.some((m) => m.id === lower.id), 'the late lower id comes back');
  await dev.client.dispose();
});

test('D3: the same clientMsgId sent three times (twice at once) stores one message and returns the same id', async () => {
  const [a, b] = await pair();
  const dev = device(s.url, s.wsUrl, b); // online, so every repeat re-enqueues a real delivery job
  await waitOnline(s.url, b);
  const before = await countMessages();
  const [x, y] = await Promise.all([send(s.url, a, { userId: b.id }, 'once', 'dup-1'), send(s.url, a, { userId: b.id }, 'once', 'dup-1')]);
  const z = await send(s.url, a, { userId: b.id }, 'once', 'dup-1');
  assert.equal(x.id, y.id);
  assert.equal(x.id, z.id);
  assert.equal(await countMessages(), before + 1);
  await dev.sub.waitFor(1);
  await sleep(300);
  assert.ok(dev.pushed().every((m) => m.id === x.id));
  await dev.client.dispose();
});

test('D1: bad sends are errors with codes and store nothing', async () => {
  const [a, b] = await pair();
  const stranger = await registerUser(s.url);
  const gid = await createGroup(s.url, a, [b]);
  const before = await countMessages();
  const q = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';
  const msg = (to: object, extra: object = {}) => ({ i: { to, clientMsgId: `bad-${Math.random()}`, type: 'TEXT', content: 'x', ...extra } });
  assert.equal(await errorCode(s.url, q, msg({ userId: stranger.id }), a.token), 'NOT_FRIENDS');
  assert.equal(await errorCode(s.url, q, msg({ groupId: gid }), stranger.token), 'NOT_FOUND'); // as for a group nobody has
  assert.equal(await errorCode(s.url, q, msg({ userId: b.id }, { content: 'x'.repeat(4097) }), a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, q, msg({ userId: b.id }, { content: '' }), a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, q, msg({ userId: b.id }, { type: 'STICKER' }), a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, q, msg({ userId: b.id, groupId: gid }), a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, q, msg({ userId: 'abc' }), a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, q, msg({ userId: '99999999' }), a.token), 'NOT_FRIENDS');
  await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', { u: a.id }, b.token);
  assert.equal(await errorCode(s.url, q, msg({ userId: b.id }), a.token), 'NOT_FRIENDS'); // a block is never told
  assert.equal(await countMessages(), before);
  // 4096 characters, emoji counted as one each, is accepted.
  const [c, d] = await pair();
  await send(s.url, c, { userId: d.id }, '😀'.repeat(4096));
});

test('history: scroll back with before, fill a gap with afterSeq', async () => {
  const [a, b] = await pair();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await send(s.url, i % 2 ? b : a, { userId: i % 2 ? a.id : b.id }, `h${i}`)).id);
  const q = 'query($w: ConversationInput!, $b: ID, $s: Int, $l: Int) { history(with: $w, before: $b, afterSeq: $s, limit: $l) { messages { id seq } hasMore } }';
  const newest = await ok(s.url, q, { w: { userId: b.id }, l: 3 }, a.token);
  assert.deepEqual(newest.history.messages.map((m: any) => m.id), ids.slice(4));
  assert.equal(newest.history.hasMore, true);
  const older = await ok(s.url, q, { w: { userId: b.id }, b: ids[4], l: 3 }, a.token);
  assert.deepEqual(older.history.messages.map((m: any) => m.id), ids.slice(1, 4));
  const oldest = await ok(s.url, q, { w: { userId: b.id }, b: ids[1], l: 3 }, a.token);
  assert.deepEqual(oldest.history.messages.map((m: any) => m.id), ids.slice(0, 1));
  assert.equal(oldest.history.hasMore, false);
  const gap = await ok(s.url, q, { w: { userId: a.id }, s: 2, l: 2 }, b.token);
  assert.deepEqual(gap.history.messages.map((m: any) => m.seq), [3, 4]);
  assert.equal(gap.history.hasMore, true);
  const stranger = await registerUser(s.url);
  const none = await gql(s.url, q, { w: { userId: a.id } }, stranger.token);
  assert.deepEqual(none.data?.history.messages, []);
});

test('D5/D12: a group message reaches every online member once and offline members through sync', async () => {
  const [a, b] = await pair();
  const c = await registerUser(s.url);
  await makeFriends(s.url, a, c);
  const gid = await createGroup(s.url, a, [b, c]);
  const devB = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  await syncAll(s.url, b);
  const m = await send(s.url, a, { groupId: gid }, 'hi all');
  const [pushed] = await devB.sub.waitFor(1);
  assert.equal(pushed.messages.id, m.id);
  const devC = device(s.url, s.wsUrl, c);
  await waitOnline(s.url, c);
  const got = await syncAll(s.url, c);
  assert.ok(got.some((x) => x.id === m.id));
  await devB.client.dispose();
  await devC.client.dispose();
});
