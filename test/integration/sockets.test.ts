import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { TokenSigner } from '../../src/auth/tokens';
import { makeFriends } from '../support/chat';
import { gql, ok, registerUser, startServer, wsClient, type TestServer } from '../support/harness';

/**
 * graphql-ws close codes (src/server/ws.ts), as the GraphQL over WebSocket Protocol
 * (graphql-transport-ws, PROTOCOL.md) defines them: 4408 "Connection initialisation timeout"
 * when no ConnectionInit arrives in time; 4401 "Unauthorized" for a Subscribe before
 * ConnectionAck; 4429 "Too many initialisation requests"; 4403 "Forbidden" when the server
 * refuses the ConnectionInit (missing/bad/expired/revoked token) and, here, when the token of
 * an open socket expires (the client reconnects with a fresh one).
 */

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, j) => setTimeout(() => j(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);

/** A raw socket speaking graphql-transport-ws; reports its close and the messages it got. */
function rawSocket(url: string, protocol = 'graphql-transport-ws') {
  const ws = new WebSocket(url, protocol);
  const messages: any[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: String(reason), at: Date.now() })),
  );
  const opened = new Promise<number>((r, j) => ws.once('open', () => r(Date.now())).once('error', j));
  return { ws, messages, closed, opened };
}

/** Connects with these connection params and waits for the close; fails if the socket is acknowledged instead. */
async function refusedAtInit(url: string, params: Record<string, unknown>): Promise<{ code: number; reason: string }> {
  // Lazy, with one operation: a refused connection is reported to the operation's sink (not to console.error).
  const client = wsClient(url, params, { lazy: true });
  let acked = false;
  let ran = false;
  client.on('connected', () => (acked = true));
  client.subscribe({ query: '{ __typename }' }, { next: () => (ran = true), error: () => undefined, complete: () => undefined });
  try {
    const c = await within(client.closed, 5000, 'the socket was not closed');
    assert.equal(acked, false, 'the connection was acknowledged');
    assert.equal(ran, false, 'an operation ran');
    return c;
  } finally {
    await client.dispose();
  }
}

/** A non-lazy client whose fatal close is reported only through `closed`. */
function quietClient(url: string, params: Record<string, unknown>) {
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: () => params,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: { closed: (e: any) => resolveClosed({ code: e?.code, reason: String(e?.reason ?? '') }) },
  });
  return Object.assign(client, { closed });
}

describe('socket handshake', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ WS_INIT_TIMEOUT_MS: '300' });
  });
  after(async () => {
    await s?.close();
  });

  // A claims object like TokenSigner's, to be signed by hand.
  const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
    sub,
    sid: randomUUID(),
    did: 'dev-1',
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000) - 120,
    exp: Math.floor(Date.now() / 1000) - 60,
    ...extra,
  });

  test('control: a valid token is acknowledged and a query works on the socket', async () => {
    const u = await registerUser(s.url);
    const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    try {
      const r = await within(
        new Promise<any>((resolve, reject) => client.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined })),
        5000,
        'me over the socket',
      );
      assert.equal(r.data.me.id, u.id);
      // The bare token (without "Bearer ") and the `token` key are accepted too.
      const bare = wsClient(s.wsUrl, { token: u.token });
      const r2 = await within(
        new Promise<any>((resolve, reject) => bare.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined })),
        5000,
        'me over the socket with a bare token',
      );
      assert.equal(r2.data.me.id, u.id);
      await bare.dispose();
    } finally {
      await client.dispose();
    }
  });

  test('no connection_init within WS_INIT_TIMEOUT_MS (300 ms): closed 4408', async () => {
    const sock = rawSocket(s.wsUrl);
    const openedAt = await sock.opened;
    const c = await within(sock.closed, 5000, 'the silent socket was not closed');
    assert.equal(c.code, 4408);
    assert.match(c.reason, /initiali[sz]ation timeout/i);
    const waited = c.at - openedAt;
    assert.ok(waited >= 250 && waited < 2000, `closed after ${waited} ms`);
    assert.deepEqual(sock.messages, []);
  });

  test('a subscribe before connection_init: closed 4401', async () => {
    const sock = rawSocket(s.wsUrl);
    await sock.opened;
    sock.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } }));
    const c = await within(sock.closed, 5000, 'not closed');
    assert.equal(c.code, 4401);
    assert.ok(!sock.messages.some((m) => m.type === 'next'), 'the operation did not run');
  });

  test('a second connection_init: closed 4429', async () => {
    const u = await registerUser(s.url);
    const sock = rawSocket(s.wsUrl);
    await sock.opened;
    const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${u.token}` } });
    sock.ws.send(init);
    sock.ws.send(init);
    const c = await within(sock.closed, 5000, 'not closed');
    assert.equal(c.code, 4429);
  });

  test('another subprotocol is refused (the handshake picks none, or the socket closes 4406)', async () => {
    const sock = rawSocket(s.wsUrl, 'graphql-ws'); // the old subscriptions-transport-ws protocol
    sock.opened.catch(() => undefined);
    const outcome = await within(
      new Promise<string>((resolve) => {
        sock.ws.on('error', (e) => resolve(`error: ${e.message}`));
        sock.ws.on('close', (code) => resolve(`close: ${code}`));
      }),
      5000,
      'neither refused nor closed',
    );
    assert.match(outcome, /^(error: Server sent no subprotocol|close: 4406)$/);
    assert.deepEqual(sock.messages, []);
  });

  test('init without a token: closed 4403', async () => {
    assert.equal((await refusedAtInit(s.wsUrl, {})).code, 4403);
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: '' })).code, 4403);
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: 'Bearer ' })).code, 4403);
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: 42 })).code, 4403);
  });

  test('init with a bad token: closed 4403', async () => {
    const u = await registerUser(s.url);
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: 'Bearer garbage' })).code, 4403);
    // A real token with one character of its signature changed.
    const flipped = u.token.slice(0, -1) + (u.token.endsWith('A') ? 'B' : 'A');
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: `Bearer ${flipped}` })).code, 4403);
    // Signed with another secret.
    const forged = new TokenSigner('y'.repeat(64), 900).sign({ userId: u.id, sessionId: randomUUID(), deviceId: 'x' }).token;
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: `Bearer ${forged}` })).code, 4403);
    // alg none.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(u.id), iss: 'im-server', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: `Bearer ${none}` })).code, 4403);
  });

  test('init with an expired token (signed with the server secret): closed 4403', async () => {
    const u = await registerUser(s.url);
    // The user's own live session: only exp makes the difference.
    const sid = (jwt.decode(u.token) as { sid: string }).sid;
    const expired = jwt.sign(claims(u.id, { sid }), s.env.JWT_SECRET, { algorithm: 'HS256', issuer: 'im-server' });
    // Control: the same claims with a future exp are accepted by the server's signer, so only exp differs.
    const fresh = jwt.sign(claims(u.id, { sid, exp: Math.floor(Date.now() / 1000) + 600 }), s.env.JWT_SECRET, { algorithm: 'HS256', issuer: 'im-server' });
    assert.equal((await ok(s.url, '{ me { id } }', {}, fresh)).me.id, u.id);
    assert.equal((await gql(s.url, '{ me { id } }', {}, expired)).errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: `Bearer ${expired}` })).code, 4403);
  });

  test("a logged-out session's token at init: closed 4403 (another session of the user still connects)", async () => {
    const u = await registerUser(s.url);
    const other = await ok(s.url, `mutation { login(account: "${u.account}", password: "password123") { accessToken } }`);
    assert.deepEqual(await ok(s.url, 'mutation { logout }', {}, u.token), { logout: true });
    assert.equal((await refusedAtInit(s.wsUrl, { authorization: `Bearer ${u.token}` })).code, 4403);
    const client = wsClient(s.wsUrl, { authorization: `Bearer ${other.login.accessToken}` });
    try {
      const r = await within(
        new Promise<any>((resolve, reject) => client.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined })),
        5000,
        'me over the socket',
      );
      assert.equal(r.data.me.id, u.id);
    } finally {
      await client.dispose();
    }
  });

  test('logout closes the session\'s open sockets at once (4403), on the socket and its other sockets alike', async () => {
    const u = await registerUser(s.url);
    const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    await within(
      new Promise<any>((resolve, reject) => client.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined })),
      5000,
      'me over the socket',
    );
    await ok(s.url, 'mutation { logout }', {}, u.token);
    const closed = await within(client.closed, 5000, 'close after logout');
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /revoked/);
    await client.dispose();
  });
});

describe('errors on the socket carry the same codes as over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s?.close();
  });

  const cases: Array<{ name: string; query: string; variables?: Record<string, unknown>; code: string }> = [
    { name: 'unknown field', query: '{ me { passwordHash } }', code: 'GRAPHQL_VALIDATION_FAILED' },
    { name: 'a variable of the wrong type', query: 'query($f: Int) { users(search: "a", first: $f) { id } }', variables: { f: 'ten' }, code: 'BAD_USER_INPUT' },
    { name: 'a missing required variable', query: 'query($f: Int!) { users(search: "a", first: $f) { id } }', variables: {}, code: 'BAD_USER_INPUT' },
    { name: 'a non-numeric id', query: '{ user(id: "abc") { id } }', code: 'BAD_USER_INPUT' },
    { name: 'argument validation', query: 'mutation { register(account: "ab", password: "short") { deviceId } }', code: 'BAD_USER_INPUT' },
    { name: 'a missing permission (@Authorized("roleSet"))', query: 'mutation { setUserRole(userId: "1", role: "admin") { id } }', code: 'FORBIDDEN' },
    { name: 'two operations and no operation name', query: 'query A { __typename } query B { __typename }', code: 'OPERATION_RESOLUTION_FAILURE' },
    // The hot operations, which the socket runs compiled (src/server/jit.ts): D1 refusals keep their codes.
    { name: 'a message to a user who is no friend', query: 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', variables: { i: { to: { userId: 'STRANGER' }, clientMsgId: 'x1', type: 'TEXT', content: 'hi' } }, code: 'NOT_FRIENDS' },
    { name: 'oversized content', query: 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', variables: { i: { to: { userId: 'STRANGER' }, clientMsgId: 'x2', type: 'TEXT', content: 'x'.repeat(5000) } }, code: 'BAD_USER_INPUT' },
    { name: 'an unknown message type', query: 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', variables: { i: { to: { userId: 'STRANGER' }, clientMsgId: 'x3', type: 'NOPE', content: 'hi' } }, code: 'BAD_USER_INPUT' },
    { name: 'a foreign message id acknowledged', query: 'mutation { acknowledge(messageIds: ["abc"]) { accepted } }', code: 'BAD_USER_INPUT' },
  ];

  test('each refusal has the same extensions.code and a message on both transports', async () => {
    const u = await registerUser(s.url);
    const stranger = await registerUser(s.url);
    const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    try {
      for (const raw of cases) {
        const c = { ...raw, variables: raw.variables && JSON.parse(JSON.stringify(raw.variables).replaceAll('STRANGER', stranger.id)) };
        const http = await gql(s.url, c.query, c.variables, u.token);
        assert.equal(http.errors?.[0].extensions?.code, c.code, `HTTP, ${c.name}: ${JSON.stringify(http.errors)}`);
        const errors = await within(
          new Promise<any[]>((resolve) =>
            client.subscribe(
              { query: c.query, variables: c.variables },
              { next: (r: any) => resolve(r.errors ?? []), error: (e: any) => resolve(Array.isArray(e) ? e : [e]), complete: () => undefined },
            ),
          ),
          5000,
          c.name,
        );
        assert.ok(errors.length > 0, `socket, ${c.name}: no error`);
        assert.equal(errors[0].extensions?.code, c.code, `socket, ${c.name}: ${JSON.stringify(errors)}`);
        assert.ok(errors[0].message, `socket, ${c.name}: no message`);
      }
    } finally {
      await client.dispose();
    }
  });
});

describe('token expiry on an open socket', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ ACCESS_TOKEN_TTL: '5' });
  });
  after(async () => {
    await s?.close();
  });

  test('with ACCESS_TOKEN_TTL=5 an open socket is closed 4403 "access token expired" when its token expires', async () => {
    const issuedAt = Date.now();
    const u = await registerUser(s.url);
    const expiresAt = (jwt.decode(u.token) as jwt.JwtPayload).exp! * 1000;
    assert.ok(expiresAt - issuedAt <= 5000 + 1000, 'the token lives 5 s');
    const client = quietClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    try {
      // Open and working before the expiry.
      const r = await within(
        new Promise<any>((resolve, reject) => client.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined })),
        3000,
        'me over the socket',
      );
      assert.equal(r.data.me.id, u.id);
      const c = await within(client.closed, 7000, 'the socket outlived its token');
      const at = Date.now();
      assert.equal(c.code, 4403);
      assert.equal(c.reason, 'access token expired');
      assert.ok(at >= expiresAt - 250, `closed ${expiresAt - at} ms before the token expired`);
      assert.ok(at - issuedAt <= 7000, `closed ${at - issuedAt} ms after the token was issued`);
    } finally {
      await client.dispose();
    }
  });
});

// A client's protocol error is answered with its close code; it must not reach
// stderr (graphql-ws prints socket errors with their stack): anyone could flood the log.
test('an oversized frame or invalid UTF-8 closes the socket (1009, 1007) and prints nothing', async () => {
  const s2 = await startServer({ WS_MAX_PAYLOAD: '2048' });
  const printed: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    const closeOf = (frame: string | Buffer) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(s2.wsUrl, 'graphql-transport-ws');
        ws.on('open', () => ws.send(frame, { binary: false }));
        ws.on('error', () => undefined);
        ws.on('close', (code) => resolve(code));
      });
    assert.equal(await closeOf('x'.repeat(5000)), 1009);
    assert.equal(await closeOf(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 1007);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(printed, []);
  } finally {
    console.error = original;
    await s2.close();
  }
});

// ws checks the UTF-8 of text frames (1007) but hands a binary frame over as bytes, and graphql-ws
// decodes those with String(data), which turns each bad byte into U+FFFD: text the sender never
// wrote would be stored. A binary frame that is not UTF-8 closes the socket 1007, as a text frame does.
test('a binary frame of invalid UTF-8 closes the socket 1007 and stores nothing; a valid binary frame is served', async () => {
  const s2 = await startServer();
  const printed: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    const [a, b] = [await registerUser(s2.url), await registerUser(s2.url)];
    await makeFriends(s2.url, a, b);
    const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id content } }';
    /** A subscribe frame sending `content` (raw bytes inside the JSON string) from a to b, as bytes. */
    const frame = (id: string, clientMsgId: string, content: Buffer) => {
      const variables = { i: { to: { userId: b.id }, clientMsgId, type: 'TEXT', content: '\u0000' } };
      const [head, tail] = JSON.stringify({ id, type: 'subscribe', payload: { query: SEND, variables } }).split('\\u0000');
      return Buffer.concat([Buffer.from(head), content, Buffer.from(tail)]);
    };
    const ready = async () => {
      const sock = rawSocket(s2.wsUrl);
      sock.ws.on('error', () => undefined);
      await sock.opened;
      sock.ws.send(JSON.stringify({ type: 'connection_init', payload: { token: a.token } }));
      await waitFor(() => sock.messages.some((m) => m.type === 'connection_ack'), 3000, 'connection_ack');
      return sock;
    };

    const bad = await ready();
    bad.ws.send(frame('1', 'bin-bad', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff])), { binary: true });
    // A valid frame right behind the bad one: the socket is refused as a whole, so it is not run either.
    bad.ws.send(frame('2', 'bin-after', Buffer.from('after')), { binary: true });
    const closed = await within(bad.closed, 3000, 'the socket stayed open');
    assert.deepEqual({ code: closed.code, reason: closed.reason }, { code: 1007, reason: 'invalid UTF-8' });
    assert.deepEqual(bad.messages.filter((m) => m.type !== 'connection_ack'), [], 'no answer to either frame');

    const good = await ready();
    good.ws.send(frame('1', 'bin-good', Buffer.from('café ✓')), { binary: true });
    await waitFor(() => good.messages.some((m) => m.type === 'complete'), 3000, 'the valid binary frame was not answered');
    assert.equal(good.messages.find((m) => m.type === 'next')?.payload?.data?.sendMessage?.content, 'café ✓');
    good.ws.close();

    const stored = await ok(s2.url, 'query($u: ID!) { history(with: { userId: $u }) { messages { clientMsgId content } } }', { u: b.id }, a.token);
    assert.deepEqual(stored.history.messages, [{ clientMsgId: 'bin-good', content: 'café ✓' }], 'only the valid frame stored a message');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(printed, [], 'nothing printed');
  } finally {
    console.error = original;
    await s2.close();
  }
});

/** Resolves once `check` holds (polled every 10 ms); fails after `ms`. */
async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
  }
}
