import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterOnly, collect, gql, type GqlResult, ok, registerUser, sleep, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';
import { createRedis } from '../../src/redis';
import { LastSeen, RedisLastSeen } from '../../src/services/last-seen';
import { idTakingFields } from '../support/schema-walk';
import { befriend, db, friendsOf, newGroup, notes } from './social.helpers';

/**
 * One answer for "does not exist or is not yours": for every operation that
 * takes an id, the answer for an id nobody has equals the answer for an id
 * that exists but is someone else's (data, error code and message). And a
 * block is never told: the blocked sender's answers equal a non-friend's.
 */

let s: TestServer;
let sql: Awaited<ReturnType<typeof db>>;
/** O owns group G with M (O's friend); O and M talk 1:1; X left G; Z is deleted; S is the stranger who asks. */
let O: TestUser, M: TestUser, X: TestUser, Z: TestUser, S: TestUser, S2: TestUser, admin: TestUser;
let G: string, groupMsg: string, directMsg: string, noteOfO: string;
const NOBODY = '987654321';

const SEND = 'mutation($t: ConversationInput!, $c: String!) { sendMessage(input: { to: $t, clientMsgId: $c, type: TEXT, content: "hi" }) { id } }';
let clientIds = 0;

before(async () => {
  s = await startServer();
  sql = await db(s);
  [O, M, X, Z, S, S2, admin] = await Promise.all(Array.from({ length: 7 }, () => registerUser(s.url)));
  await befriend(s.url, O, M);
  await befriend(s.url, O, X);
  await befriend(s.url, S, S2);
  G = await newGroup(s.url, O, [M, X], 'owned');
  groupMsg = (await ok(s.url, SEND, { t: { groupId: G }, c: 'g1' }, O.token)).sendMessage.id;
  directMsg = (await ok(s.url, SEND, { t: { userId: M.id }, c: 'd1' }, O.token)).sendMessage.id;
  await ok(s.url, 'mutation($g: ID!) { leaveGroup(groupId: $g) }', { g: G }, X.token);
  noteOfO = (await notes(s.url, O)).find((n) => n.type === 'FRIEND_ACCEPTED').id;
  await ok(s.url, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: Z.id }, Z.token);
  await sql.query("UPDATE user SET role_id = (SELECT id FROM role WHERE name = 'admin') WHERE id = ?", [admin.id]);
});
after(async () => {
  await sql?.end();
  await s?.close();
});

/** What a caller learns from an answer: its data, or its first error's code and message (ids named in it blanked). */
function answer(r: GqlResult, ids: string[] = []): unknown {
  if (!r.errors?.length) return { data: r.data };
  const e = r.errors[0];
  let message = e.message;
  for (const id of ids) message = message.split(id).join('<id>');
  return { code: e.extensions?.code, message };
}

interface Pair {
  /** The operation and variables; `missing` and `foreign` fill $x. */
  query: string;
  vars: (x: string) => Record<string, unknown>;
  missing: string;
  foreign: string;
  by: () => TestUser;
  /** What both must be: an error code, or 'null'/'empty' data. */
  expect: string;
}

const q = (query: string, vars: (x: string) => Record<string, unknown>, foreign: () => string, expect: string, by: () => TestUser = () => S, missing = NOBODY) =>
  () => ({ query, vars, foreign: foreign(), missing, by, expect }) as Pair;

/** Each id-taking operation: one or more (missing, foreign) pairs, or why it has none. */
const PAIRS: Record<string, Array<() => Pair> | string> = {
  user: [q('query($x: ID!) { user(id: $x) { id } }', (x) => ({ x }), () => Z.id, 'null')], // a deleted account as nobody's id
  group: [
    q('query($x: ID!) { group(id: $x) { id name } }', (x) => ({ x }), () => G, 'null'),
    q('query($x: ID!) { group(id: $x) { members { role } } }', (x) => ({ x }), () => G, 'null'),
    q('query($x: ID!) { group(id: $x) { id } }', (x) => ({ x }), () => G, 'null', () => X), // a former member
  ],
  history: [
    q('query($x: ID!) { history(with: { groupId: $x }) { messages { id } hasMore } }', (x) => ({ x }), () => G, 'empty'),
    q('query($x: ID!) { history(with: { userId: $x }) { messages { id } hasMore } }', (x) => ({ x }), () => O.id, 'empty'),
  ],
  markRead: [
    q('mutation($x: ID!, $u: ID!) { markRead(with: { groupId: $x }, upTo: $u) { lastRead } }', (x) => ({ x, u: groupMsg }), () => G, 'NOT_FOUND'),
    q('mutation($x: ID!, $u: ID!) { markRead(with: { userId: $x }, upTo: $u) { lastRead } }', (x) => ({ x, u: directMsg }), () => O.id, 'NOT_FOUND'),
    // A member's own conversation, someone else's message in it or none: one answer too.
    q('mutation($x: ID!, $g: ID!) { markRead(with: { groupId: $g }, upTo: $x) { lastRead } }', (x) => ({ x, g: G }), () => directMsg, 'BAD_USER_INPUT', () => M),
  ],
  messageReaders: [
    q('query($x: ID!, $m: ID!) { messageReaders(groupId: $x, messageId: $m) { read { id } } }', (x) => ({ x, m: groupMsg }), () => G, 'NOT_FOUND'),
    q('query($x: ID!, $g: ID!) { messageReaders(groupId: $g, messageId: $x) { read { id } } }', (x) => ({ x, g: G }), () => groupMsg, 'NOT_FOUND'),
    q('query($x: ID!, $g: ID!) { messageReaders(groupId: $g, messageId: $x) { read { id } } }', (x) => ({ x, g: G }), () => directMsg, 'NOT_FOUND', () => M),
  ],
  sendMessage: [
    q(SEND, (x) => ({ t: { groupId: x }, c: `p${++clientIds}` }), () => G, 'NOT_FOUND'),
    q(SEND, (x) => ({ t: { userId: x }, c: `p${++clientIds}` }), () => O.id, 'NOT_FRIENDS'),
    q(SEND, (x) => ({ t: { userId: x }, c: `p${++clientIds}` }), () => Z.id, 'NOT_FRIENDS'),
  ],
  sendTyping: [
    q('mutation($x: ID!) { sendTyping(with: { groupId: $x }) }', (x) => ({ x }), () => G, 'NOT_FOUND'),
    q('mutation($x: ID!) { sendTyping(with: { userId: $x }) }', (x) => ({ x }), () => O.id, 'NOT_FRIENDS'),
  ],
  sendFriendRequest: [q('mutation($x: ID!) { sendFriendRequest(userId: $x) { id } }', (x) => ({ x }), () => Z.id, 'NOT_FOUND')],
  respondToFriendRequest: [q('mutation($x: ID!) { respondToFriendRequest(notificationId: $x, accept: true) { id } }', (x) => ({ x }), () => noteOfO, 'NOT_FOUND')],
  removeFriend: [q('mutation($x: ID!) { removeFriend(userId: $x) }', (x) => ({ x }), () => O.id, 'NOT_FRIENDS')],
  updateFriend: [q('mutation($x: ID!) { updateFriend(userId: $x, starred: true) { starred } }', (x) => ({ x }), () => O.id, 'NOT_FRIENDS')],
  acknowledgeNotifications: [q('mutation($x: ID!) { acknowledgeNotifications(ids: [$x]) { id } }', (x) => ({ x }), () => noteOfO, 'NOT_FOUND')],
  createGroup: [q('mutation($x: ID!) { createGroup(name: "g", memberIds: [$x]) { id } }', (x) => ({ x }), () => O.id, 'NOT_FRIENDS')],
  addGroupMembers: [
    q('mutation($x: ID!, $u: ID!) { addGroupMembers(groupId: $x, userIds: [$u]) { id } }', (x) => ({ x, u: S2.id }), () => G, 'NOT_FOUND'),
    q('mutation($x: ID!, $g: ID!) { addGroupMembers(groupId: $g, userIds: [$x]) { id } }', (x) => ({ x, g: G }), () => S.id, 'NOT_FRIENDS', () => O),
  ],
  removeGroupMember: [
    q('mutation($x: ID!, $u: ID!) { removeGroupMember(groupId: $x, userId: $u) { id } }', (x) => ({ x, u: M.id }), () => G, 'NOT_FOUND'),
    q('mutation($x: ID!, $g: ID!) { removeGroupMember(groupId: $g, userId: $x) { id } }', (x) => ({ x, g: G }), () => S.id, 'NOT_FOUND', () => O),
  ],
  leaveGroup: [q('mutation($x: ID!) { leaveGroup(groupId: $x) }', (x) => ({ x }), () => G, 'NOT_FOUND')],
  dissolveGroup: [q('mutation($x: ID!) { dissolveGroup(groupId: $x) }', (x) => ({ x }), () => G, 'NOT_FOUND')],
  setGroupMemberRole: [
    q('mutation($x: ID!, $u: ID!) { setGroupMemberRole(groupId: $x, userId: $u, role: ADMIN) { role } }', (x) => ({ x, u: M.id }), () => G, 'NOT_FOUND'),
    q('mutation($x: ID!, $g: ID!) { setGroupMemberRole(groupId: $g, userId: $x, role: ADMIN) { role } }', (x) => ({ x, g: G }), () => S.id, 'NOT_FOUND', () => O),
  ],
  deleteUser: [
    q('mutation($x: ID!) { deleteUser(id: $x) }', (x) => ({ x }), () => O.id, 'FORBIDDEN'),
    q('mutation($x: ID!) { deleteUser(id: $x) }', (x) => ({ x }), () => Z.id, 'NOT_FOUND', () => admin),
  ],
  setUserRole: [
    q('mutation($x: ID!) { setUserRole(userId: $x, role: "admin") { id } }', (x) => ({ x }), () => O.id, 'FORBIDDEN'),
    q('mutation($x: ID!) { setUserRole(userId: $x, role: "admin") { id } }', (x) => ({ x }), () => Z.id, 'NOT_FOUND', () => admin),
  ],
  acknowledge: [q('mutation($x: ID!) { acknowledge(messageIds: [$x]) { accepted } }', (x) => ({ x }), () => directMsg, 'data')],
  acknowledgeSync: 'the answer reads only the caller\'s own device cursor and syncToken: upTo names no one\'s thing',
  notifications: '`after` is a cursor over the caller\'s own notifications only',
  setBlocked: 'users are public (as for user(id)): it only sets the caller\'s own setting about one, NOT_FOUND for an id nobody has',
};

test('every id-taking operation has its (missing, not yours) pairs or a reason', async () => {
  const fields = await idTakingFields();
  assert.deepEqual(fields.filter((f) => !(f in PAIRS)), [], 'add a pair for each new id-taking operation');
  assert.deepEqual(Object.keys(PAIRS).filter((f) => !fields.includes(f)), []);
});

test('an id nobody has and an id that is not the caller\'s get one answer, operation by operation', async (t) => {
  for (const [field, pairs] of Object.entries(PAIRS)) {
    if (typeof pairs === 'string') continue;
    await t.test(field, async () => {
      for (const make of pairs) {
        const p = make();
        const ids = [p.missing, p.foreign];
        const missing = answer(await gql(s.url, p.query, p.vars(p.missing), p.by().token), ids);
        const foreign = answer(await gql(s.url, p.query, p.vars(p.foreign), p.by().token), ids);
        assert.deepEqual(foreign, missing, `${p.query}: the answer tells an existing id from a missing one`);
        const expected =
          p.expect === 'null' ? (missing as any).data && Object.values((missing as any).data)[0] === null
          : p.expect === 'empty' ? JSON.stringify((missing as any).data).includes('"messages":[],"hasMore":false')
          : p.expect === 'data' ? (missing as any).data !== undefined
          : (missing as any).code === p.expect;
        assert.ok(expected, `${p.query}: expected ${p.expect}, got ${JSON.stringify(missing)}`);
      }
    });
  }
});

test('a block is never told: the blocked sender gets exactly what a non-friend gets', async (t) => {
  const [blocker, blocked, nonFriend, friendOfAll] = await Promise.all(Array.from({ length: 4 }, () => registerUser(s.url)));
  await befriend(s.url, blocker, blocked);
  for (const u of [blocker, blocked, nonFriend]) await befriend(s.url, friendOfAll, u);
  await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', { u: blocked.id }, blocker.token);
  const same = async (query: string, vars: Record<string, unknown>, viaBlocked: Record<string, unknown> = vars, ids: string[] = []) => {
    const a = answer(await gql(s.url, query, viaBlocked, blocked.token), ids);
    const b = answer(await gql(s.url, query, vars, nonFriend.token), ids);
    assert.deepEqual(a, b, `${query}: the blocked sender is told something a non-friend is not`);
    return a as any;
  };

  await t.test('sendMessage to the blocker', async () => {
    const a = await same(SEND, { t: { userId: blocker.id }, c: 'nf-1' }, { t: { userId: blocker.id }, c: 'bl-1' });
    assert.equal(a.code, 'NOT_FRIENDS');
  });
  await t.test('createGroup and addGroupMembers with the blocker', async () => {
    const a = await same('mutation($m: [ID!]!) { createGroup(name: "x", memberIds: $m) { id } }', { m: [blocker.id] });
    assert.equal(a.code, 'NOT_FRIENDS');
    const ownGroup = async (u: TestUser) => newGroup(s.url, u, [friendOfAll], 'own');
    const [gBlocked, gNon] = [await ownGroup(blocked), await ownGroup(nonFriend)];
    const add = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }';
    const b = await same(add, { g: gNon, u: [blocker.id] }, { g: gBlocked, u: [blocker.id] });
    assert.equal(b.code, 'NOT_FRIENDS');
  });
  await t.test('sendFriendRequest to the blocker, and again', async () => {
    await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: blocked.id }, blocker.token);
    const listener = wsClient(s.wsUrl, { authorization: `Bearer ${blocker.token}` });
    const pushed = collect<{ notifications: { type: string; sender: { id: string } } }>(listener, 'subscription { notifications { type sender { id } } }');
    await sleep(300);
    try {
      const req = 'mutation($u: ID!) { sendFriendRequest(userId: $u) { type status receiver { id } } }';
      const first = await same(req, { u: blocker.id });
      assert.deepEqual(first.data.sendFriendRequest, { type: 'FRIEND_REQUEST', status: 'INITIAL', receiver: { id: blocker.id } });
      // The repeat names each sender's own pending request: the same words around a different id.
      const idsOf = async (u: TestUser) => (await gql(s.url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: blocker.id }, u.token)).errors?.[0];
      const [rb, rn] = [await idsOf(blocked), await idsOf(nonFriend)];
      assert.equal(rb?.extensions?.code, 'CONFLICT');
      assert.equal(rb?.message.replace(/\d+/g, 'N'), rn?.message.replace(/\d+/g, 'N'));
      // The blocker is not reached: only the non-friend's request is pushed and listed.
      await pushed.waitFor(1);
      await sleep(300);
      assert.deepEqual(pushed.values.map((v) => v.notifications.sender.id), [nonFriend.id]);
      const requests = async () => (await notes(s.url, blocker)).filter((n) => n.type === 'FRIEND_REQUEST' && n.status === 'INITIAL').map((n) => n.sender.id).sort();
      const listed = await requests();
      assert.deepEqual(listed, [nonFriend.id]);
      // Lifting the block (no longer friends, his setting is kept: the API has no path for it) shows the held request.
      await sql.query('UPDATE friend_setting SET blocked = 0 WHERE user_id = ? AND peer_id = ?', [blocker.id, blocked.id]);
      assert.deepEqual(await requests(), [blocked.id, nonFriend.id].sort());
    } finally {
      pushed.dispose();
      await listener.dispose();
    }
  });
});

test('a blocked friend sees the blocker\'s presence as any friend does (hiding it would tell)', async () => {
  const [blocker, blocked, friend] = await Promise.all(Array.from({ length: 3 }, () => registerUser(s.url)));
  await befriend(s.url, blocker, blocked);
  await befriend(s.url, blocker, friend);
  await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', { u: blocked.id }, blocker.token);
  const look = async (u: TestUser) => (await ok(s.url, 'query($id: ID!) { user(id: $id) { online email role { name } } }', { id: blocker.id }, u.token)).user;
  assert.deepEqual(await look(blocked), await look(friend));
  assert.equal((await look(blocked)).online, false);
  assert.equal((await friendsOf(s.url, blocked)).length, 1);
});

test('lastSeen: a socket closing stamps its user at once, whatever the last stamp; contacts read it, others read null', clusterOnly('sets the Redis lastSeen hash directly'), async () => {
  const [T, friend, stranger] = await Promise.all(Array.from({ length: 3 }, () => registerUser(s.url)));
  await befriend(s.url, T, friend);
  const redis = createRedis(s.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'privacy-test');
  await redis.connect();
  try {
    const hourAgo = Date.now() - 3_600_000;
    await redis.hset(`${s.prefix}seen`, T.id, String(hourAgo));
    const seen = async (u: TestUser) => (await ok(s.url, 'query($id: ID!) { user(id: $id) { lastSeen online } }', { id: T.id }, u.token)).user;
    assert.equal(Date.parse((await seen(friend)).lastSeen), hourAgo);
    assert.deepEqual(await seen(stranger), { lastSeen: null, online: null });
    const socket = wsClient(s.wsUrl, { authorization: `Bearer ${T.token}` });
    const sub = collect(socket, 'subscription { messages { id } }');
    await sleep(300);
    sub.dispose();
    await socket.dispose();
    let at = hourAgo;
    for (let i = 0; i < 50 && at === hourAgo; i++, await sleep(20)) at = Date.parse((await seen(friend)).lastSeen);
    assert.ok(Date.now() - at < 10_000, `lastSeen after the close: ${new Date(at).toISOString()}`);
    assert.deepEqual(await seen(stranger), { lastSeen: null, online: null });
  } finally {
    await redis.quit();
  }
});

test('LastSeen: a request stamps a user once per interval, a socket every interval while open and at its close', clusterOnly('reads the Redis lastSeen hash'), async () => {
  const redis = createRedis(s.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'privacy-test-ls');
  await redis.connect();
  const key = `${s.prefix}seen-test`; // under the run's prefix: removed with it
  const ls = new LastSeen(new RedisLastSeen(redis, key), 300);
  const stamp = async (id: string) => Number(await redis.hget(key, id));
  try {
    ls.touch('1');
    await sleep(50);
    const first = await stamp('1');
    assert.ok(first > 0);
    ls.touch('1'); // within the interval: not written again
    await sleep(50);
    assert.equal(await stamp('1'), first);
    ls.opened('2');
    await sleep(50);
    const opened = await stamp('2');
    await sleep(700); // two ticks: the open socket's user is stamped again without any request
    const ticked = await stamp('2');
    assert.ok(ticked > opened, `${ticked} > ${opened}`);
    ls.closed('2');
    await sleep(50);
    const closed = await stamp('2');
    assert.ok(closed >= ticked && closed >= Date.now() - 200, `closed at ${closed}`);
    // A late, older stamp from another node never moves it back.
    await redis.hset(key, '3', String(Date.now() + 60_000));
    const ahead = await stamp('3');
    ls.closed('3');
    await sleep(50);
    assert.equal(await stamp('3'), ahead);
    assert.deepEqual((await ls.ofMany(['3', '404'])).map((d) => d?.getTime() ?? null), [ahead, null]);
  } finally {
    ls.stop();
    await redis.quit();
  }
});
