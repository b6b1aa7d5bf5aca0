import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { type Client, createClient } from 'graphql-ws';
import { type GqlResult, sleep, startServer, type TestServer } from '../support/harness';

// Every limit at N (accepted) and at N+1 (RATE_LIMITED with extensions.retryAfterMs),
// over HTTP and over the socket. TRUST_PROXY=true lets the test speak from many
// addresses through X-Forwarded-For; a second server shows the header is ignored without it.

let s: TestServer;
before(async () => {
  s = await startServer({
    TRUST_PROXY: 'true',
    RL_LOGIN_ACCOUNT: '3/60/60',
    RL_LOGIN_IP: '5/60/60',
    RL_REGISTER_IP: '3/60',
    RL_REFRESH_SESSION: '3/60',
    RL_SEND_BURST: '4/1',
    RL_SEND_SUSTAINED: '6/60',
    RL_FRIEND_REQUEST: '2/60',
    RL_GROUP_CREATE: '2/60',
    RL_MARK_READ: '3/60',
    RL_TYPING: '3/60',
  });
  helper = await user();
});
after(async () => {
  await closeSockets();
  await s?.close();
});
afterEach(closeSockets);

const ip = () => `10.${[1, 2, 3].map(() => randomBytes(1)[0]).join('.')}`;

type Via = 'http' | 'socket';
type Call = (query: string, variables: Record<string, unknown>, o?: { token?: string; from?: string }) => Promise<GqlResult>;

/** Someone whose token opens sockets for operations that need none (register, login, refreshSession). */
let helper: U;
const sockets = new Map<string, Client>();
async function closeSockets(): Promise<void> {
  const open = [...sockets.values()];
  sockets.clear();
  await Promise.all(open.map((c) => c.dispose()));
}

/** One operation over a graphql-ws socket: one socket per (token, address), kept until the test ends. */
const overSocket: Call = (query, variables, o = {}) => {
  const token = o.token ?? helper.token;
  const key = `${token}|${o.from ?? ''}`;
  let client = sockets.get(key);
  if (!client) {
    const headers = o.from ? { 'x-forwarded-for': o.from } : {};
    client = createClient({
      url: s.wsUrl,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers });
        }
      },
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    sockets.set(key, client);
  }
  const c = client;
  return new Promise<GqlResult>((resolve, reject) => {
    let got: GqlResult = {};
    c.subscribe({ query, variables }, { next: (v) => (got = v as GqlResult), error: reject, complete: () => resolve(got) });
  });
};
const over = (via: Via): Call => (via === 'http' ? post : overSocket);
const VIAS: Via[] = ['http', 'socket'];

async function post(query: string, variables: Record<string, unknown>, o: { token?: string; from?: string; url?: string } = {}): Promise<GqlResult> {
  const res = await fetch(o.url ?? s.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.from ? { 'x-forwarded-for': o.from } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult;
}

/** Asserts a RATE_LIMITED refusal with a positive retryAfterMs. */
function limited(r: GqlResult, what: string): void {
  const e = r.errors?.[0];
  assert.equal(e?.extensions?.code, 'RATE_LIMITED', `${what}: ${JSON.stringify(r)}`);
  assert.ok(typeof e?.extensions?.retryAfterMs === 'number' && (e.extensions.retryAfterMs as number) > 0, `${what}: retryAfterMs`);
}
function fine(r: GqlResult, what: string): any {
  assert.equal(r.errors, undefined, `${what}: ${JSON.stringify(r.errors)}`);
  return r.data;
}

const REGISTER = 'mutation($a: String!) { register(account: $a, password: "password123") { accessToken refreshToken deviceId user { id } } }';
const LOGIN = 'mutation($a: String!, $p: String!) { login(account: $a, password: $p) { accessToken } }';
const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { refreshToken } }';
const SEND = 'mutation($to: ID!, $c: String!) { sendMessage(input: { to: { userId: $to }, clientMsgId: $c, type: TEXT, content: "hi" }) { id } }';

interface U { id: string; account: string; token: string; refreshToken: string }
async function user(): Promise<U> {
  const account = `rl${randomBytes(4).toString('hex')}`;
  const d = fine(await post(REGISTER, { a: account }, { from: ip() }), 'register').register;
  return { id: d.user.id, account, token: d.accessToken, refreshToken: d.refreshToken };
}
async function friends(a: U, b: U): Promise<void> {
  const req = fine(await post('mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: b.id }, { token: a.token }), 'request');
  fine(await post('mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: req.sendFriendRequest.id }, { token: b.token }), 'accept');
}

for (const via of VIAS) {
  const call = over(via);

  describe(`login (${via})`, () => {
    test('per account: N failures are UNAUTHENTICATED, then every attempt is RATE_LIMITED, right password and other address included', async () => {
      const u = await user();
      for (let i = 0; i < 3; i++) assert.equal((await call(LOGIN, { a: u.account, p: 'wrong-password' }, { from: ip() })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      limited(await call(LOGIN, { a: u.account, p: 'password123' }, { from: ip() }), 'the right password after N failures');
      limited(await call(LOGIN, { a: u.account.toUpperCase(), p: 'password123' }, { from: ip() }), 'the account in another case');
    });

    test('a success clears the account count: N-1 failures, a success, N-1 failures still log in', async () => {
      const u = await user();
      const from = ip();
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 2; i++) assert.equal((await call(LOGIN, { a: u.account, p: 'nope-nope' }, { from: ip() })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
        fine(await call(LOGIN, { a: u.account, p: 'password123' }, { from }), `round ${round}`);
      }
    });

    test('concurrent attempts: at most N passwords are checked, per account and per address', async () => {
      const u = await user();
      const codes = (rs: GqlResult[]) => rs.map((r) => r.errors?.[0]?.extensions?.code);
      const perAccount = codes(await Promise.all(Array.from({ length: 20 }, (_, i) => call(LOGIN, { a: u.account, p: `wrong-${i}` }, { from: ip() }))));
      assert.equal(perAccount.filter((c) => c === 'UNAUTHENTICATED').length, 3, perAccount.join());
      assert.equal(perAccount.filter((c) => c === 'RATE_LIMITED').length, 17);
      const from = ip();
      const perIp = codes(await Promise.all(Array.from({ length: 20 }, (_, i) => call(LOGIN, { a: `ghost${i}${randomBytes(3).toString('hex')}`, p: 'x-x-x-x-x' }, { from }))));
      assert.equal(perIp.filter((c) => c === 'UNAUTHENTICATED').length, 5, perIp.join());
      assert.equal(perIp.filter((c) => c === 'RATE_LIMITED').length, 15);
    });

    test('per IP: N failures over different accounts, then that address is RATE_LIMITED and another is not', async () => {
      const u = await user();
      const from = ip();
      for (let i = 0; i < 5; i++) assert.equal((await call(LOGIN, { a: `ghost${i}${randomBytes(2).toString('hex')}`, p: 'x-x-x-x-x' }, { from })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      limited(await call(LOGIN, { a: u.account, p: 'password123' }, { from }), 'N+1 from the address');
      fine(await call(LOGIN, { a: u.account, p: 'password123' }, { from: ip() }), 'another address');
    });
  });

  test(`register (${via}): N per address, then RATE_LIMITED`, async () => {
    const from = ip();
    for (let i = 0; i < 3; i++) fine(await call(REGISTER, { a: `reg${randomBytes(4).toString('hex')}` }, { from }), `registration ${i}`);
    limited(await call(REGISTER, { a: `reg${randomBytes(4).toString('hex')}` }, { from }), 'N+1');
    fine(await call(REGISTER, { a: `reg${randomBytes(4).toString('hex')}` }, { from: ip() }), 'another address');
  });

  test(`refreshSession (${via}): N per session, then RATE_LIMITED`, async () => {
    const u = await user();
    let r = u.refreshToken;
    for (let i = 0; i < 3; i++) r = fine(await call(REFRESH, { r }), `refresh ${i}`).refreshSession.refreshToken;
    limited(await call(REFRESH, { r }), 'N+1');
  });

  test(`sendMessage (${via}): N in a second, then RATE_LIMITED; after the second, sends pass again until the sustained limit`, async () => {
    const [a, b] = [await user(), await user()];
    await friends(a, b);
    for (let i = 0; i < 4; i++) fine(await call(SEND, { to: b.id, c: `b${i}` }, { token: a.token }), `send ${i}`);
    const refused = await call(SEND, { to: b.id, c: 'b4' }, { token: a.token });
    limited(refused, 'burst N+1');
    assert.ok((refused.errors![0].extensions!.retryAfterMs as number) <= 1000);
    await sleep(1100);
    for (let i = 4; i < 6; i++) fine(await call(SEND, { to: b.id, c: `b${i}` }, { token: a.token }), `send ${i}`);
    await sleep(1100);
    limited(await call(SEND, { to: b.id, c: 'b6' }, { token: a.token }), 'sustained N+1');
    const history = fine(await post('query($w: ID!) { history(with: { userId: $w }, limit: 50) { messages { content } } }', { w: a.id }, { token: b.token }), 'history');
    assert.equal(history.history.messages.length, 6, 'refused sends stored nothing');
  });

  test(`friend requests, group creation, markRead and typing (${via}): N per user, then RATE_LIMITED`, async () => {
    const me = await user();
    const others = [await user(), await user(), await user()];
    for (let i = 0; i < 2; i++) fine(await call('mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: others[i].id }, { token: me.token }), `request ${i}`);
    limited(await call('mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: others[2].id }, { token: me.token }), 'request N+1');

    const creator = await user();
    for (let i = 0; i < 2; i++) fine(await call('mutation($n: String!) { createGroup(name: $n, memberIds: []) { id } }', { n: `g${i}` }, { token: creator.token }), `group ${i}`);
    limited(await call('mutation { createGroup(name: "g2", memberIds: []) { id } }', {}, { token: creator.token }), 'group N+1');

    const [a, b] = [await user(), await user()];
    await friends(a, b);
    const id = fine(await post(SEND, { to: b.id, c: 'r0' }, { token: a.token }), 'send').sendMessage.id;
    const MARK = 'mutation($w: ID!, $u: ID!) { markRead(with: { userId: $w }, upTo: $u) { lastRead } }';
    for (let i = 0; i < 3; i++) fine(await call(MARK, { w: a.id, u: id }, { token: b.token }), `markRead ${i}`);
    limited(await call(MARK, { w: a.id, u: id }, { token: b.token }), 'markRead N+1');

    const TYPING = 'mutation($w: ID!) { sendTyping(with: { userId: $w }) }';
    for (let i = 0; i < 3; i++) fine(await call(TYPING, { w: b.id }, { token: a.token }), `typing ${i}`);
    limited(await call(TYPING, { w: b.id }, { token: a.token }), 'typing N+1');
  });
}

test('without TRUST_PROXY, X-Forwarded-For is ignored: every request counts against the socket address', async () => {
  const plain = await startServer({ RL_REGISTER_IP: '2/60' });
  try {
    for (let i = 0; i < 2; i++) fine(await post(REGISTER, { a: `np${randomBytes(4).toString('hex')}` }, { from: ip(), url: plain.url }), `registration ${i}`);
    limited(await post(REGISTER, { a: `np${randomBytes(4).toString('hex')}` }, { from: ip(), url: plain.url }), 'a new forwarded address does not help');
  } finally {
    await plain.close();
  }
});

describe('socket caps', () => {
  let capped: TestServer;
  before(async () => {
    capped = await startServer({
      TRUST_PROXY: 'true',
      WS_MAX_SOCKETS_PER_DEVICE: '2',
      WS_MAX_SOCKETS_PER_USER: '3',
      WS_MAX_SOCKETS_PER_IP: '4',
      WS_MAX_SUBSCRIPTIONS: '3',
    });
  });
  after(async () => {
    await capped?.close();
  });
  async function cappedUser(): Promise<U> {
    const account = `rl${randomBytes(4).toString('hex')}`;
    const d = fine(await post(REGISTER, { a: account }, { from: ip(), url: capped.url }), 'register').register;
    return { id: d.user.id, account, token: d.accessToken, refreshToken: d.refreshToken };
  }

  /** Opens a raw graphql-transport-ws socket and resolves with how it closed, or 'open' once acknowledged. */
  function open(token: string, from: string, keep: WebSocket[]): Promise<{ code: number; reason: string } | 'open'> {
    return new Promise((resolve) => {
      const ws = new WebSocket(capped.wsUrl, 'graphql-transport-ws', { headers: { 'x-forwarded-for': from } });
      keep.push(ws);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      ws.on('message', (m) => {
        if (JSON.parse(String(m)).type === 'connection_ack') resolve('open');
      });
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
  }
  const closeAll = (keep: WebSocket[]) => keep.forEach((w) => w.terminate());

  test('per device: N sockets of one session, then the next closes 4430 with a reason', async () => {
    const u = await cappedUser();
    const keep: WebSocket[] = [];
    try {
      assert.equal(await open(u.token, ip(), keep), 'open');
      assert.equal(await open(u.token, ip(), keep), 'open');
      const third = await open(u.token, ip(), keep);
      assert.deepEqual(third, { code: 4430, reason: 'too many sockets for this device (at most 2)' });
    } finally {
      closeAll(keep);
    }
  });

  test('per user: N sockets over several devices, then 4430', async () => {
    const u = await cappedUser();
    const keep: WebSocket[] = [];
    try {
      const tokens = [u.token];
      for (let i = 0; i < 2; i++) tokens.push(fine(await post(LOGIN, { a: u.account, p: 'password123' }, { from: ip(), url: capped.url }), 'login').login.accessToken);
      for (const t of tokens) assert.equal(await open(t, ip(), keep), 'open');
      const extra = fine(await post(LOGIN, { a: u.account, p: 'password123' }, { from: ip(), url: capped.url }), 'login').login.accessToken;
      assert.deepEqual(await open(extra, ip(), keep), { code: 4430, reason: 'too many sockets for this user (at most 3)' });
      // A closed socket frees its place.
      keep[0].close();
      await sleep(200);
      assert.equal(await open(extra, ip(), keep), 'open');
    } finally {
      closeAll(keep);
    }
  });

  test('per IP: N sockets from one address, then 4430 before any init', async () => {
    const from = ip();
    const users = [await cappedUser(), await cappedUser(), await cappedUser(), await cappedUser(), await cappedUser()];
    const keep: WebSocket[] = [];
    try {
      for (let i = 0; i < 4; i++) assert.equal(await open(users[i].token, from, keep), 'open');
      assert.deepEqual(await open(users[4].token, from, keep), { code: 4430, reason: 'too many sockets from this address' });
      assert.equal(await open(users[4].token, ip(), keep), 'open');
    } finally {
      closeAll(keep);
    }
  });

  test('subscriptions per socket: N live ones (and any number of queries), then the socket closes 4430', async () => {
    const u = await cappedUser();
    const keep: WebSocket[] = [];
    try {
      assert.equal(await open(u.token, ip(), keep), 'open');
      const ws = keep[0];
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
      for (let i = 1; i <= 3; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: 'subscription { notifications { id } }' } }));
      // Queries and mutations in flight are not subscriptions: many at once are fine.
      for (let i = 10; i < 40; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: '{ me { id } }' } }));
      await sleep(500);
      assert.equal(ws.readyState, WebSocket.OPEN, 'N live subscriptions and 30 queries at once are fine');
      ws.send(JSON.stringify({ id: '4', type: 'subscribe', payload: { query: 'subscription { notifications { id } }' } }));
      assert.deepEqual(await closed, { code: 4430, reason: 'too many subscriptions on this socket (at most 3)' });
    } finally {
      closeAll(keep);
    }
  });
});
