import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConnection } from 'mariadb';
import { MESSAGE_FIELDS, makeFriends, send } from '../support/chat';
import { clusterOnly, errorCode, loginUser, ok, registerUser, sleep, startServer, type TestServer, type TestUser } from '../support/harness';

// Catch-up over HTTP only (D12, D13e): a device that never opens a socket, like
// a mobile app woken by a push notification or a script; and the device model
// of login (a deviceId resumes its device's sync, none makes a new device).

let s: TestServer;
before(async () => {
  s = await startServer({ ACK_TIMEOUT_MS: '1000' });
});
after(async () => {
  await s?.close();
});

type Msg = { id: string; seq: number; content: string };
type Batch = { messages: Msg[]; hasMore: boolean; syncToken: string };
type Ack = { accepted: boolean; reason: string | null; lastAck: string; lastAckErr: string | null };

const sync = async (u: TestUser, limit: number): Promise<Batch> =>
  (await ok(s.url, `query($l: Int) { sync(limit: $l) { messages { ${MESSAGE_FIELDS} } hasMore syncToken } }`, { l: limit }, u.token)).sync;
const ackSync = async (u: TestUser, upTo: string, token: string): Promise<Ack> =>
  (await ok(s.url, 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted reason lastAck lastAckErr } }', { u: upTo, t: token }, u.token))
    .acknowledgeSync;

async function pair(): Promise<[TestUser, TestUser]> {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await makeFriends(s.url, a, b);
  return [a, b];
}

async function sendMany(from: TestUser, to: TestUser, n: number, tag: string): Promise<Msg[]> {
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) out.push(await send(s.url, from, { userId: to.id }, `${tag} ${i}`));
  return out;
}

/**
 * Pages until a batch without more is accepted, deduplicating by id as a client does. A refusal
 * (with its reason) means sync again: a message's late-commit guard that runs after an ack passed
 * it records a failure (it cannot know the device holds the message), which re-sends that
 * message or makes the next ack STALE. A few of those are expected; never refusals without end.
 */
async function catchUp(u: TestUser, limit: number): Promise<{ got: Msg[]; acks: Ack[] }> {
  const got = new Map<string, Msg>();
  const acks: Ack[] = [];
  for (let round = 0; round < 30; round++) {
    const b = await sync(u, limit);
    for (const m of b.messages) if (!got.has(m.id)) got.set(m.id, m);
    const a = await ackSync(u, b.messages.at(-1)?.id ?? '0', b.syncToken);
    acks.push(a);
    if (a.accepted) {
      assert.equal(a.reason, null);
      if (b.messages.length) assert.equal(a.lastAck, b.messages.at(-1)!.id, 'an accepted ack reaches the end of its page');
      if (!b.hasMore) return { got: [...got.values()].sort((x, y) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1)), acks };
    } else {
      assert.ok(a.reason === 'STALE' || a.reason === 'LATE_COMMIT', `a refusal says why (${a.reason})`);
    }
    assert.ok(acks.filter((x) => !x.accepted).length <= 8, 'HTTP-only catch-up must make progress, not be refused for ever');
  }
  throw new Error('catch-up did not finish');
}

/** Catches up until a later sync returns nothing: every delivery job of what was sent has ended. */
async function settle(u: TestUser): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await catchUp(u, 50);
    await sleep(100);
    const b = await sync(u, 50);
    if (!b.messages.length && (await ackSync(u, '0', b.syncToken)).accepted) return;
  }
  throw new Error('the backlog did not settle');
}

// D12, D13e: the case. 30 waiting messages, pages of 10, never a socket.
test('a device that never opens a socket catches up page by page, and a second sync returns nothing', async () => {
  const [a, b] = await pair();
  const sent = await sendMany(a, b, 30, 'waiting');
  const { got, acks } = await catchUp(b, 10);
  assert.deepEqual(got.map((m) => m.id), sent.map((m) => m.id), 'every message, in order');
  assert.ok(acks.filter((a) => a.accepted).length >= 3, 'three pages, each acknowledged');
  const last = acks.at(-1)!;
  assert.equal(last.lastAck, sent.at(-1)!.id);
  assert.equal(last.lastAckErr, null, 'a complete batch clears the fence');
  assert.equal(last.reason, null);
  const again = await sync(b, 10);
  assert.deepEqual(again.messages, [], 'the backlog is confirmed: nothing comes back');
  assert.equal(again.hasMore, false);
});

// D13e: a message whose id lies inside the batch, stored after the read, is not passed over.
// A transaction holds a lower id uncommitted while a higher one commits; the read returns the
// higher; the lower commits before the ack. Its delivery job (none here) could not have helped:
// the ack itself must see it.
test('an id inside the batch committed after the read is refused as LATE_COMMIT and comes in the next sync', clusterOnly('SQLite writes one transaction at a time, so no id can commit after a higher one (nothing to hold open beside the server)'), async () => {
  const [a, b] = await pair();
  const first = await send(s.url, a, { userId: b.id }, 'first');
  await settle(b);
  const conn = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: s.dbName });
  try {
    await conn.query('START TRANSACTION');
    const late = await conn.query(
      `INSERT INTO message (conversation_id, seq, sender_id, client_msg_id, type, receiver_id, content, created_at)
       SELECT conversation_id, 1000000, sender_id, 'late-commit', type, receiver_id, 'late', created_at FROM message WHERE id = ?`,
      [first.id],
    );
    const lateId = String(late.insertId);
    const higher = await send(s.url, a, { userId: b.id }, 'higher');
    assert.ok(BigInt(higher.id) > BigInt(lateId), 'the id was taken before the higher one');
    await sleep(200); // the higher one's delivery job ends (its guard finds lastAck below it)
    const b1 = await sync(b, 10);
    assert.deepEqual(b1.messages.map((m) => m.id), [higher.id], 'the read cannot see the uncommitted id');
    await conn.query('COMMIT');
    const r = await ackSync(b, higher.id, b1.syncToken);
    assert.equal(r.accepted, false, 'acknowledging the batch would pass over the late id');
    assert.equal(r.reason, 'LATE_COMMIT');
    assert.equal(r.lastAck, first.id, 'the cursor stays where the read started');
    const { got } = await catchUp(b, 10);
    assert.deepEqual(got.map((m) => m.id), [lateId, higher.id]);
  } finally {
    await conn.end();
  }
});

// D13d: the README says any id acknowledges an empty batch; "0" is the natural one.
test('upTo "0" acknowledges an empty batch', async () => {
  const [, b] = await pair();
  const empty = await sync(b, 10);
  assert.deepEqual(empty.messages, []);
  const r = await ackSync(b, '0', empty.syncToken);
  assert.equal(r.accepted, true);
  assert.equal(r.lastAckErr, null);
  // Still not a free-form string.
  assert.equal(
    await errorCode(s.url, 'mutation($t: String!) { acknowledgeSync(upTo: "00", syncToken: $t) { accepted } }', { t: empty.syncToken }, b.token),
    'BAD_USER_INPUT',
  );
});

// The device model: the cursor is kept per (user, deviceId).
test('a re-login with the old deviceId resumes that device; without it, a new device whose sync starts now', async () => {
  const [a, b] = await pair();
  const before = await sendMany(a, b, 3, 'before');
  await settle(b);
  await ok(s.url, 'mutation($w: ConversationInput!, $u: ID!) { markRead(with: $w, upTo: $u) { lastRead } }', { w: { userId: a.id }, u: before.at(-1)!.id }, b.token);
  await ok(s.url, 'mutation { logout }', {}, b.token);
  const away = await sendMany(a, b, 4, 'while logged out');

  await sleep(200); // their delivery jobs end (a guard still running at the login would re-send one to the new device)
  const fresh = await loginUser(s.url, b.account);
  assert.notEqual(fresh.deviceId, b.deviceId, 'no deviceId: a new device');
  const { got: freshGot } = await catchUp(fresh, 10);
  assert.deepEqual(freshGot, [], "a new device's sync starts at its login");
  const convs = (await ok(s.url, '{ conversations { unreadCount peer { id } } }', {}, fresh.token)).conversations as Array<{ unreadCount: number; peer: { id: string } | null }>;
  assert.equal(convs.find((c) => c.peer?.id === a.id)?.unreadCount, 4, 'what arrived while logged out counts as unread');
  const hist = (await ok(s.url, `query($w: ConversationInput!) { history(with: $w, limit: 50) { messages { id } } }`, { w: { userId: a.id } }, fresh.token)).history;
  assert.deepEqual(hist.messages.slice(-4).map((m: { id: string }) => m.id), away.map((m) => m.id), 'and is in history');

  const resumed = await loginUser(s.url, b.account, b.deviceId);
  assert.equal(resumed.deviceId, b.deviceId);
  const { got } = await catchUp(resumed, 10);
  assert.deepEqual(got.map((m) => m.id), away.map((m) => m.id), 'the old device resumes where it stopped');
});

// The device model: a deviceId names a device of one user; another user's is a new device of the caller.
test("another user's deviceId is not adoptable: it is a new device of the caller", async () => {
  const [a, b] = await pair();
  const c = await registerUser(s.url);
  await makeFriends(s.url, a, c);
  await settle(b);
  const toC = await send(s.url, a, { userId: c.id }, 'for c, before its login with b\'s deviceId');
  await ok(s.url, 'mutation { logout }', {}, b.token);
  const toB = await sendMany(a, b, 2, 'for b');

  await sleep(200); // as above: the jobs end before the login
  const intruder = await loginUser(s.url, c.account, b.deviceId);
  assert.equal(intruder.deviceId, b.deviceId);
  const { got: cGot } = await catchUp(intruder, 10);
  assert.deepEqual(cGot, [], "c's device starts now: neither b's backlog nor b's cursor position");
  const hist = (await ok(s.url, `query($w: ConversationInput!) { history(with: $w) { messages { id } } }`, { w: { userId: a.id } }, intruder.token)).history;
  assert.deepEqual(hist.messages.map((m: { id: string }) => m.id), [toC.id], "c's own history is there; only its sync starts now");

  const back = await loginUser(s.url, b.account, b.deviceId);
  const { got } = await catchUp(back, 10);
  assert.deepEqual(got.map((m) => m.id), toB.map((m) => m.id), "b's device is untouched by c's login");
});
