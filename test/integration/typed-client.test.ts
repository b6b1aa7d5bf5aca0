import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { type ChatMessage, ImClient, type ReadReceipt } from '../../client/im-client';
import { device, makeFriends, send, syncAll, waitOnline } from '../support/chat';
import { cleanupEnv, ok, registerUser, sleep, startServer, testEnv, type TestServer, type TestUser } from '../support/harness';
import { startNode } from '../support/processes';

// The typed example client of D14 (client/im-client.ts) against a real server.

let s: TestServer;
before(async () => {
  s = await startServer({ ACK_TIMEOUT_MS: '1000' });
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

/** A client for the user's session (its device), recording deliveries and the sockets it opened. */
function open(user: TestUser, extra: { gapWaitMs?: number } = {}) {
  const got: ChatMessage[] = [];
  const errors: unknown[] = [];
  const receipts: ReadReceipt[] = [];
  const sockets: WebSocket[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      sockets.push(this);
    }
  }
  const client = new ImClient({
    httpUrl: s.url,
    wsUrl: s.wsUrl,
    getToken: () => user.token,
    onMessage: (m) => got.push(m),
    onError: (e) => errors.push(e),
    onReadReceipt: (r) => receipts.push(r),
    webSocketImpl: TrackedWebSocket,
    ...extra,
  });
  return { user, client, got, errors, receipts, sockets };
}
type Opened = ReturnType<typeof open>;

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

/** Records the operation names the client sends over HTTP; `fail` may replace a response with a network error. */
function spyFetch(fail?: (op: string) => boolean) {
  const ops: string[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const op = /"query":"(?:query|mutation) (\w+)/.exec(typeof init?.body === 'string' ? init.body : '')?.[1];
    if (op) ops.push(op);
    const res = await real(input, init);
    // The request reached the server; only the answer is lost, as when a connection drops mid-response.
    if (op && fail?.(op)) throw new TypeError('fetch failed');
    return res;
  }) as typeof fetch;
  return { ops, restore: () => void (globalThis.fetch = real) };
}

const seqRange = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Both sides send n messages with small random pauses, concurrently into one conversation. */
async function converse(a: Opened, b: Opened, n: number, midway: () => void) {
  const sent = new Map<string, ChatMessage[]>([[a.user.id, []], [b.user.id, []]]);
  const talk = async (from: Opened, to: Opened, atHalf?: () => void) => {
    for (let i = 0; i < n; i++) {
      await sleep(Math.floor(Math.random() * 25));
      // The return of sendMessage is the sender's receipt (D4): these are the ids that must arrive.
      sent.get(from.user.id)!.push(await from.client.send({ userId: to.user.id }, `${from.user.account} #${i}`));
      if (i === n / 2) atHalf?.();
    }
  };
  await Promise.all([talk(a, b), talk(b, a, midway)]);
  return sent;
}

test('D14: 60 messages each way with a dropped socket mid-stream arrive exactly once, in seq order, without gaps', async (t) => {
  const [alice, bob] = await pair();
  const a = open(alice);
  const b = open(bob);
  t.after(() => Promise.all([a.client.stop(), b.client.stop()]));
  await Promise.all([a.client.start(), b.client.start()]);
  const N = 60;
  // Halfway through bob's sends his socket dies without a close handshake; graphql-ws reconnects
  // with the same token (same device, so the server cursor is reused) and the client syncs again.
  const sent = await converse(a, b, N, () => b.sockets.at(-1)!.terminate());

  for (const [me, peer] of [[a, b], [b, a]] as const) {
    const theirs = sent.get(peer.user.id)!.map((m) => m.id);
    await until(`${me.user.account} holds all of ${peer.user.account}'s messages`, () => {
      const ids = new Set(me.got.map((m) => m.id));
      return theirs.every((id) => ids.has(id));
    });
  }
  await sleep(300); // room for a late duplicate to show up, if the client let one through
  assert.ok(b.sockets.length >= 2, 'bob reconnected on a new socket');
  await waitOnline(s.url, bob); // the messages subscription is live again after the reconnect

  for (const [me, peer] of [[a, b], [b, a]] as const) {
    const ids = me.got.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, `${me.user.account}: every message delivered once`);
    const theirs = sent.get(peer.user.id)!.map((m) => m.id);
    assert.deepEqual(theirs.filter((id) => !ids.includes(id)), [], `${me.user.account} got everything sent to them`);
    // One conversation, keyed by the other user whoever sent; both sides' sends share its seqs,
    // and the client delivers its own too, so the stream is exactly 1..2N (D2, D14).
    assert.deepEqual(new Set(me.got.map((m) => me.client.conversationKey(m))), new Set([`u:${peer.user.id}`]));
    assert.deepEqual(me.got.map((m) => m.seq), seqRange(2 * N), `${me.user.account}: strictly increasing, no gaps`);
    assert.deepEqual(me.errors, []);
  }
});

test('D14/D11: a seq jump is filled from history(with, afterSeq) and delivered in order', async (t) => {
  const [carol, dave] = await pair();
  const early: Array<{ id: string; seq: number }> = [];
  for (let i = 1; i <= 3; i++) early.push(await send(s.url, carol, { userId: dave.id }, `early ${i}`));
  // Another program on dave's session takes the first three and confirms them (syncAll), so this
  // device's cursor is past them: the typed client below starts knowing nothing of the conversation,
  // as if their delivery jobs had vanished (D11), and its own sync has nothing to return.
  const other = device(s.url, s.wsUrl, dave);
  await waitOnline(s.url, dave);
  assert.equal((await syncAll(s.url, dave)).length, 3);
  await other.client.dispose();

  const spy = spyFetch();
  t.after(spy.restore);
  const d = open(dave, { gapWaitMs: 50 });
  t.after(() => d.client.stop());
  await d.client.start();
  assert.equal(d.got.length, 0, 'the sync returned nothing');
  await waitOnline(s.url, dave);
  const fourth = await send(s.url, carol, { userId: dave.id }, 'live 4'); // pushed: seq 4 right after seq 0
  await until('dave holds seqs 1..4', () => d.got.length === 4, 10_000);
  assert.deepEqual(d.got.map((m) => m.seq), [1, 2, 3, 4]);
  assert.deepEqual(d.got.map((m) => m.id), [...early.map((m) => m.id), fourth.id]);
  assert.ok(spy.ops.includes('History'), 'the gap was filled from history');
  assert.deepEqual(d.errors, []);
});

/** The first answer to sendMessage is lost after the server stored the message; the client sends again. */
async function lostAnswer(t: TestContext, receiverOnline: boolean) {
  const [erin, frank] = await pair();
  let failures = 1;
  const spy = spyFetch((op) => op === 'SendMessage' && failures-- > 0);
  t.after(spy.restore);
  const e = open(erin);
  const f = open(frank);
  t.after(() => Promise.all([e.client.stop(), f.client.stop()]));
  await Promise.all([e.client.start(), receiverOnline && f.client.start()]);
  const m = await e.client.send({ userId: frank.id }, 'once only', 'fixed-client-id');
  assert.equal(spy.ops.filter((op) => op === 'SendMessage').length, 2, 'the first answer was lost and the send repeated');
  assert.equal(m.clientMsgId, 'fixed-client-id');
  assert.equal(m.seq, 1);
  const again = await e.client.send({ userId: frank.id }, 'second');
  assert.equal(again.seq, 2, 'the repeat stored nothing new (D3), so the next message is seq 2');
  assert.match(again.clientMsgId, /^[0-9a-f-]{36}$/, 'a clientMsgId is generated when none is given');
  if (!receiverOnline) await f.client.start(); // both come from sync
  await until('frank holds both', () => f.got.length === 2, 10_000);
  assert.deepEqual(f.got.map((x) => x.id), [m.id, again.id]);
}

test('D3/D14: send repeats a lost answer with the same clientMsgId; one message is stored (receiver offline)', (t) => lostAnswer(t, false));
test('D3/D14: the same with the receiver online (the repeat re-enqueues its delivery jobs)', (t) => lostAnswer(t, true));

test('D14/D16: the readReceipts subscription tells the author that the peer read up to a message', async (t) => {
  const [gina, hal] = await pair();
  const g = open(gina);
  t.after(() => g.client.stop());
  await g.client.start();
  await waitOnline(s.url, gina);
  const m = await g.client.send({ userId: hal.id }, 'did you read this?');
  await ok(s.url, 'mutation($w: ConversationInput!, $u: ID!) { markRead(with: $w, upTo: $u) { lastRead } }', { w: { userId: gina.id }, u: m.id }, hal.token);
  await until('gina gets the receipt', () => g.receipts.length > 0, 10_000);
  assert.deepEqual(g.receipts[0], { reader: { id: hal.id }, peerId: gina.id, groupId: null, lastRead: m.id });
});

// The device model: the client keeps its deviceId across logins, so a re-login resumes the
// device's sync; catchUp() works over HTTP only (no socket), 30 messages in pages of 10.
test('D14: the client keeps its deviceId across logins and catches up over HTTP only', async (t) => {
  const [ivy, jon] = await pair();
  const got: ChatMessage[] = [];
  const opts = { httpUrl: s.url, wsUrl: s.wsUrl, onMessage: (m: ChatMessage) => got.push(m), syncPageSize: 10, webSocketImpl: WebSocket };
  const j = new ImClient(opts);
  t.after(() => j.stop());
  const first = await j.login(jon.account, 'password123');
  assert.equal(j.deviceId, first.deviceId);
  assert.notEqual(first.deviceId, jon.deviceId, 'no deviceId yet: a new device');
  const batch1: string[] = [];
  for (let i = 0; i < 30; i++) batch1.push((await send(s.url, ivy, { userId: jon.id }, `m${i}`)).id);
  await j.catchUp();
  assert.deepEqual(got.map((m) => m.id), batch1, 'every waiting message once, in order, without a socket');
  assert.deepEqual(j.snapshot(), { [`u:${ivy.id}`]: 30 });

  const batch2 = [(await send(s.url, ivy, { userId: jon.id }, 'while logged out')).id];
  const again = await j.login(jon.account, 'password123');
  assert.equal(again.deviceId, first.deviceId, 'the second login passed the deviceId it had');
  await j.catchUp();
  assert.deepEqual(got.slice(30).map((m) => m.id), batch2, 'the same device resumes');

  // A restarted app passes the persisted deviceId.
  const batch3 = [(await send(s.url, ivy, { userId: jon.id }, 'after a restart')).id];
  const later: ChatMessage[] = [];
  const k = new ImClient({ ...opts, deviceId: j.deviceId, lastSeq: j.snapshot(), onMessage: (m) => later.push(m) });
  t.after(() => k.stop());
  assert.equal((await k.login(jon.account, 'password123')).deviceId, first.deviceId);
  await k.catchUp();
  assert.deepEqual(later.map((m) => m.id), batch3);
});

// Refresh rotation: a second refresh with the same token is a reuse, so the
// client shares one refresh in flight; it refreshes by itself before expiry.
test('the client shares one refresh in flight, and refreshes an access token close to its expiry once for many requests', async (t) => {
  const short = await startServer({ ACCESS_TOKEN_TTL: '6', REFRESH_REUSE_INTERVAL_S: '0' });
  t.after(() => short.close());
  const [u, v] = [await registerUser(short.url), await registerUser(short.url)];
  await makeFriends(short.url, u, v);
  const sessions: string[] = [];
  const c = new ImClient({ httpUrl: short.url, wsUrl: short.wsUrl, onMessage: () => undefined, webSocketImpl: WebSocket, onSession: (x) => sessions.push(x.refreshToken) });
  t.after(() => c.stop());
  await c.login(u.account, 'password123');
  const [a, b, d] = await Promise.all([c.refresh(), c.refresh(), c.refresh()]);
  assert.equal(a, b);
  assert.equal(a, d);
  assert.equal(sessions.length, 2, 'one login, one refresh');
  // With no reuse interval, a second rotation of the same token would have revoked the session.
  await sleep(3500); // past half the token's 6 s life
  const sent = await Promise.all([1, 2, 3, 4, 5].map((i) => c.send({ userId: v.id }, `near expiry ${i}`)));
  assert.equal(new Set(sent.map((m) => m.id)).size, 5);
  assert.equal(sessions.length, 3, 'five requests near expiry made one refresh');
  assert.equal((await ok(short.url, '{ me { id } }', {}, (await c.refresh()).accessToken)).me.id, u.id, 'the session lives on');
});

/**
 * A server in its own process, as in production (a fresh database or data
 * directory). After the test its clients stop, then the process, then its data is removed.
 */
async function serverProcess(t: TestContext) {
  const env = testEnv();
  const clients: ImClient[] = [];
  let node: Awaited<ReturnType<typeof startNode>> | undefined;
  t.after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await node?.kill();
    await cleanupEnv(env);
  });
  node = await startNode(env);
  const { url, wsUrl } = node;
  let n = 0;
  /** A client of the process that records what it is given; register() makes it a new user and device. */
  const client = () => {
    const got: ChatMessage[] = [];
    const errors: unknown[] = [];
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        sockets.push(this);
      }
    }
    const c = new ImClient({ httpUrl: url, wsUrl, onMessage: (m) => got.push(m), onError: (e) => errors.push(e), webSocketImpl: Tracked });
    clients.push(c);
    const register = async () => (await c.register(`u${process.pid}_${Date.now()}_${++n}`, 'password123')).user.id;
    return { client: c, got, errors, sockets, register };
  };
  /** Makes `a` and `b` friends through the typed client. */
  const befriend = async (a: ReturnType<typeof client>, b: ReturnType<typeof client>, bId: string) => {
    await a.client.requestFriend(bId);
    const [request] = await b.client.pendingFriendRequests();
    await b.client.answerFriendRequest(request.notificationId);
  };
  return { client, befriend };
}

/** Waits up to 3 s for the message to reach onMessage; false if it never did. */
async function arrives(got: ChatMessage[], id: string): Promise<boolean> {
  for (const deadline = Date.now() + 3000; Date.now() < deadline; await sleep(20)) if (got.some((m) => m.id === id)) return true;
  return got.some((m) => m.id === id);
}

// D14's first sync must read after the server attached the `messages` subscription: one read
// and acknowledged before the attach leaves the device marked present only after start()
// resolved, so a message sent in between finds no holder, is never pushed, and nothing makes
// the client sync again. Only a sync sent on the socket right behind the subscribe is ordered
// after the attach. A server in its own process (as in production) hits the window far more
// often than one in the test's process: a client whose first sync went over HTTP lost the
// message in about half the rounds on the embedded node (on a cluster node it did not show in
// five runs).
test('D14: a message sent the moment start() resolves is pushed, round after round (the first sync goes on the socket, behind the subscribe)', async (t) => {
  const { client, befriend } = await serverProcess(t);
  const alice = client();
  await alice.register();
  const ROUNDS = 25;
  const lost: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bob = client(); // a new device each round, with nothing to sync
    const bobId = await bob.register();
    await befriend(alice, bob, bobId);
    await bob.client.start();
    const sent = await alice.client.send({ userId: bobId }, `hello ${round}`);
    if (!(await arrives(bob.got, sent.id))) lost.push(round);
    // It can only have come pushed: the client syncs again only after a reconnect.
    assert.equal(bob.sockets.length, 1, `round ${round}: the client reconnected`);
    assert.deepEqual(bob.errors, [], `round ${round}`);
    await bob.client.stop();
  }
  assert.deepEqual(lost, [], `${lost.length} of ${ROUNDS} rounds never got the message sent right after start()`);
});

// The same after a reconnect: the sync the client runs then must read behind the re-subscribe on
// the new socket, or a message sent as soon as it is acknowledged can find the device absent.
// (A client that synced over HTTP from graphql-ws's `connected` event did not lose this race in
// our runs; this test guards the socket path of a reconnect.)
test('D14: after each reconnect, a message sent the moment the resync is acknowledged is pushed', async (t) => {
  const { client, befriend } = await serverProcess(t);
  const alice = client();
  const bob = client();
  await alice.register();
  const bobId = await bob.register();
  await befriend(alice, bob, bobId);
  // Counts bob's acknowledgeSync answers (only bob sends them: alice never syncs).
  let acked = 0;
  const real = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await real(input, init);
    if (typeof init?.body === 'string' && init.body.includes('mutation AcknowledgeSync')) acked++;
    return res;
  }) as typeof fetch;
  t.after(() => void (globalThis.fetch = real));
  await bob.client.start();
  await sleep(300); // the first socket is surely up: each terminate below ends a connected one
  const ROUNDS = 20;
  const lost: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = acked;
    bob.sockets.at(-1)!.terminate(); // no close handshake: graphql-ws reconnects and the client syncs again
    const deadline = Date.now() + 10_000;
    while ((bob.sockets.length < round + 2 || acked === before) && Date.now() < deadline) await sleep(1);
    assert.ok(acked > before, `round ${round}: no resync after the reconnect`);
    const sent = await alice.client.send({ userId: bobId }, `after reconnect ${round}`);
    if (!(await arrives(bob.got, sent.id))) lost.push(round);
  }
  assert.deepEqual(lost, [], `${lost.length} of ${ROUNDS} rounds never got the message sent right after the resync`);
  assert.deepEqual(bob.errors, []);
});
