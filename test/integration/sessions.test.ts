import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConnection } from 'mariadb';
import { startPrivateRedis, type PrivateRedis } from '../support/private-services';
import { clusterOnly, gql, ok, registerUser, sleep, startServer, wsClient, type TestServer } from '../support/harness';

const ME = '{ me { id } }';
const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken deviceId accessTokenExpiresAt } }';
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

// Refresh rotation with a reuse interval (RFC 9700 §4.14.2; Auth0's and Okta's
// rotation allow a short one): the token a rotation replaced, presented again
// within the interval, returns the same new pair; afterwards it is a replay
// and revokes the session.
describe('refresh reuse interval', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ REFRESH_REUSE_INTERVAL_S: '2' });
  });
  after(async () => {
    await s?.close();
  });

  test('two concurrent refreshes with one token both succeed with the same pair, and the session lives on', async () => {
    const u = await registerUser(s.url);
    const answers = await Promise.all([1, 2, 3].map(() => gql(s.url, REFRESH, { r: u.refreshToken })));
    for (const a of answers) assert.equal(a.errors, undefined, JSON.stringify(a.errors));
    const pairs = answers.map((a) => a.data.refreshSession);
    assert.deepEqual(pairs[1], pairs[0]);
    assert.deepEqual(pairs[2], pairs[0]);
    assert.equal((await ok(s.url, ME, {}, pairs[0].accessToken)).me.id, u.id);
    const next = (await ok(s.url, REFRESH, { r: pairs[0].refreshToken })).refreshSession;
    assert.notEqual(next.refreshToken, pairs[0].refreshToken);
    assert.equal((await ok(s.url, ME, {}, next.accessToken)).me.id, u.id);
  });

  test('a retry after a lost answer, within the interval, gets the same pair', async () => {
    const u = await registerUser(s.url);
    const first = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    await sleep(300);
    const retry = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    assert.deepEqual(retry, first);
    assert.equal((await ok(s.url, ME, {}, retry.accessToken)).me.id, u.id);
  });

  test('reuse after the interval revokes the whole session', async () => {
    const u = await registerUser(s.url);
    const first = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    await sleep(2600);
    assert.equal(code(await gql(s.url, REFRESH, { r: u.refreshToken })), 'UNAUTHENTICATED');
    assert.equal(code(await gql(s.url, REFRESH, { r: first.refreshToken })), 'UNAUTHENTICATED', 'the newer token dies with the session');
    assert.equal(code(await gql(s.url, ME, {}, first.accessToken)), 'UNAUTHENTICATED');
  });

  test('a token older than the one the last rotation replaced is a replay even within the interval', async () => {
    const u = await registerUser(s.url);
    const r1 = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    const r2 = (await ok(s.url, REFRESH, { r: r1.refreshToken })).refreshSession;
    assert.equal(code(await gql(s.url, REFRESH, { r: u.refreshToken })), 'UNAUTHENTICATED');
    assert.equal(code(await gql(s.url, ME, {}, r2.accessToken)), 'UNAUTHENTICATED');
  });
});

// A session id is in every access token: it alone must not revoke the session
// nor use up its refresh limit. Only a secret the server issued can be a replay.
test('a made-up secret for a live session is refused and changes nothing, however often', async () => {
  const s2 = await startServer({ RL_REFRESH_SESSION: '2/60' });
  try {
    const u = await registerUser(s2.url);
    const sid = JSON.parse(Buffer.from(u.token.split('.')[1], 'base64url').toString()).sid as string;
    assert.ok(u.refreshToken.startsWith(`${sid}.`));
    for (const secret of ['garbage', 'A'.repeat(43), 'A'.repeat(65), u.refreshToken.slice(sid.length + 1, -1) + 'B']) {
      for (let i = 0; i < 3; i++) assert.equal(code(await gql(s2.url, REFRESH, { r: `${sid}.${secret}` })), 'UNAUTHENTICATED', secret);
    }
    assert.equal((await ok(s2.url, ME, {}, u.token)).me.id, u.id, 'the access token still works');
    const next = (await ok(s2.url, REFRESH, { r: u.refreshToken })).refreshSession;
    assert.equal((await ok(s2.url, ME, {}, next.accessToken)).me.id, u.id, 'and so does the refresh token, its limit untouched');
  } finally {
    await s2.close();
  }
});

// The session row is the truth; Redis only caches it. A Redis that restarts
// without persistence forgets every cached revocation, and must not bring a
// revoked session back.
describe('revocation survives a Redis restart', clusterOnly('restarts a Redis of its own'), () => {
  let redis: PrivateRedis;
  let s: TestServer;
  before(async () => {
    redis = await startPrivateRedis();
    s = await startServer({ REDIS_URL: redis.url, SESSION_RECHECK_S: '1' });
  });
  after(async () => {
    await s?.close();
    await redis?.dispose();
  });

  async function restartRedis(): Promise<void> {
    await redis.stop('SIGKILL');
    await redis.start();
    // The server's clients reconnect by themselves; wait until a request gets through.
    for (let i = 0; i < 100; i++) {
      const r = await gql(s.url, ME, {});
      if (code(r) === 'UNAUTHENTICATED') return;
      await sleep(100);
    }
  }

  test('logout, then Redis restarted empty: the access token is still refused, over HTTP and the socket', async () => {
    const u = await registerUser(s.url);
    const kept = await registerUser(s.url);
    assert.equal((await ok(s.url, ME, {}, u.token)).me.id, u.id);
    await ok(s.url, 'mutation { logout }', {}, u.token);
    assert.equal(code(await gql(s.url, ME, {}, u.token)), 'UNAUTHENTICATED');
    await restartRedis();
    assert.equal(code(await gql(s.url, ME, {}, u.token)), 'UNAUTHENTICATED', 'revoked after the restart');
    assert.equal(code(await gql(s.url, REFRESH, { r: u.refreshToken })), 'UNAUTHENTICATED');
    const ws = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    assert.equal((await ws.closed).code, 4403, 'the socket is refused');
    assert.equal((await ok(s.url, ME, {}, kept.token)).me.id, kept.id, 'a live session still works');
  });

  test('a deleted user’s tokens stay refused across the restart', async () => {
    const u = await registerUser(s.url);
    await ok(s.url, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: u.id }, u.token);
    await restartRedis();
    assert.equal(code(await gql(s.url, ME, {}, u.token)), 'UNAUTHENTICATED');
  });

  test('a socket open when its session is revoked while the revocation message is lost closes at the re-check', async () => {
    const u = await registerUser(s.url);
    const ws = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    await new Promise<void>((resolve, reject) => {
      const off = ws.subscribe({ query: '{ me { id } }' }, { next: () => undefined, error: reject, complete: () => { off(); resolve(); } });
    });
    // Revoke behind the server's back (as another node whose publish was lost would): the row only.
    const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: s.dbName });
    await c.query('UPDATE session SET revoked_at = NOW(3) WHERE user_id = ?', [u.id]);
    await c.end();
    await restartRedis(); // forgets the cached "live"
    const closed = await Promise.race([ws.closed, sleep(5000).then(() => null)]);
    assert.ok(closed, 'the socket closed');
    assert.equal(closed.code, 4403);
  });
});
