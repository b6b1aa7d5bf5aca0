import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deletedAccountsFriendsSql } from '../../src/db/migrations/Migration20261128120000_deleted_accounts_friends';
import { send } from '../support/chat';
import { clusterOnly, type GqlResult, gql, ok, registerUser, type TestServer, type TestUser } from '../support/harness';
import { befriend, newGroup, notes, requestFriend, serverWithDb, type Db } from './social.helpers';

let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
});

const DELETE = 'mutation($id: ID!) { deleteUser(id: $id) }';
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';
const SHOWN = 'id deleted name account avatar email online';
const HISTORY = `query($w: ConversationInput!) { history(with: $w) { messages { id content sender { ${SHOWN} } } } }`;
const Q_GROUP = 'query($id: ID!) { group(id: $id) { memberCount owner { id } members { user { id } role } } }';
const READERS = 'query($g: ID!, $m: ID!) { messageReaders(groupId: $g, messageId: $m) { read { id } unread { id } } }';
/** An id no account has. */
const MISSING = '987654321';

const deleteUser = (u: TestUser) => ok(s.url, DELETE, { id: u.id }, u.token);
const sendTo = (from: TestUser, to: { userId?: string; groupId?: string }) =>
  gql(s.url, SEND, { i: { to, clientMsgId: `del-${Math.random()}`, type: 'TEXT', content: 'hello?' } }, from.token);

/** What a caller can tell from an answer: data, or the error's code and message with the target's id made anonymous. */
function answer(r: GqlResult, targetId: string): unknown {
  if (!r.errors?.length) return { data: r.data };
  const e = r.errors[0];
  return { code: e.extensions?.code, message: e.message.split(targetId).join('<id>') };
}

test('sends to a deleted account are refused as to a missing one; his friendships and pending requests are gone', async () => {
  const [alice, bob, carol, dave] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, remark: "bobby") { remark } }', { u: bob.id }, alice.token);
  const fromCarol = await requestFriend(s.url, carol, bob);
  const toDave = await requestFriend(s.url, bob, dave);
  await send(s.url, alice, { userId: bob.id }, 'hi bob');
  await send(s.url, bob, { userId: alice.id }, 'hi alice');

  assert.equal(await deleteUser(bob).then((d) => d.deleteUser), true);

  const refused = await sendTo(alice, { userId: bob.id });
  assert.ok(refused.errors?.length, `a send to a deleted account is refused, got ${JSON.stringify(refused.data)}`);
  assert.deepEqual(answer(refused, bob.id), answer(await sendTo(alice, { userId: MISSING }), MISSING));

  const pair = [alice.id, bob.id].sort((x, y) => Number(BigInt(x) - BigInt(y)));
  assert.deepEqual(await sql.rows('SELECT * FROM friendship WHERE user_lo = ? AND user_hi = ?', pair), [], 'the friendship row is gone');
  assert.deepEqual(await sql.rows('SELECT * FROM friend_setting WHERE user_id IN (?, ?) AND peer_id IN (?, ?)', [...pair, ...pair]), []);
  assert.deepEqual(
    await sql.rows('SELECT id FROM notification WHERE type = 1 AND status IN (1, 2, 3) AND (sender_id = ? OR receiver_id = ?)', [bob.id, bob.id]),
    [],
    'his pending friend requests, sent and received, are gone',
  );
  assert.ok(!(await notes(s.url, dave)).some((n) => n.id === toDave), "dave no longer holds bob's request");
  const respond = 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }';
  assert.equal((await gql(s.url, respond, { n: toDave }, dave.token)).errors?.[0].extensions?.code, 'NOT_FOUND');
  assert.equal((await gql(s.url, respond, { n: fromCarol }, bob.token)).errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  // alice is told the friendship ended, like any other removal.
  const removed = (await notes(s.url, alice)).filter((n) => n.type === 'FRIEND_REMOVED');
  assert.deepEqual(removed.map((n) => n.sender.id), [bob.id]);
  assert.deepEqual((await ok(s.url, '{ friends { user { id } } }', {}, alice.token)).friends, []);
});

test("his past messages stay in the others' history, with the sender shown as a deleted user", async () => {
  const [alice, bob] = [await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await ok(s.url, 'mutation { updateProfile(input: { name: "Bob Real", email: "bob@x.test", avatar: "https://x.test/b.png" }) { id } }', {}, bob.token);
  const gid = await newGroup(s.url, alice, [bob]);
  await send(s.url, bob, { userId: alice.id }, 'direct from bob');
  await send(s.url, bob, { groupId: gid }, 'group from bob');
  // Fill the profile cache first: deletion must not leave it answering.
  const seen = await ok(s.url, 'query($w: ConversationInput!) { history(with: $w) { messages { sender { id name } } } }', { w: { userId: bob.id } }, alice.token);
  assert.deepEqual(seen.history.messages.map((m: any) => m.sender), [{ id: bob.id, name: 'Bob Real' }]);

  await deleteUser(bob);

  const tombstone = { id: bob.id, deleted: true, name: 'Deleted user', account: '', avatar: null, email: null, online: null };
  const direct = await ok(s.url, HISTORY, { w: { userId: bob.id } }, alice.token);
  assert.deepEqual(direct.history.messages.map((m: any) => [m.content, m.sender]), [['direct from bob', tombstone]]);
  const group = await ok(s.url, HISTORY, { w: { groupId: gid } }, alice.token);
  assert.deepEqual(group.history.messages.map((m: any) => [m.content, m.sender]), [['group from bob', tombstone]]);
  const own = await ok(s.url, `{ me { ${SHOWN} } }`, {}, alice.token);
  assert.equal(own.me.deleted, false, 'a live account is not deleted');
  assert.equal((await ok(s.url, 'query($id: ID!) { user(id: $id) { id } }', { id: bob.id }, alice.token)).user, null);
});

test('a deleted account leaves every group; ownership is handed over as for leaveGroup; readers stop counting him', async () => {
  const [alice, bob, carol] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await befriend(s.url, bob, carol);
  await befriend(s.url, alice, carol);
  const owned = await newGroup(s.url, bob, [alice, carol], 'bob owns');
  await ok(s.url, 'mutation($g: ID!, $u: ID!) { setGroupMemberRole(groupId: $g, userId: $u, role: ADMIN) { role } }', { g: owned, u: carol.id }, bob.token);
  const joined = await newGroup(s.url, alice, [bob, carol], 'alice owns');
  const alone = await newGroup(s.url, bob, [], 'only bob');
  const msg = await send(s.url, alice, { groupId: joined }, 'read me');

  await deleteUser(bob);

  const g1 = (await ok(s.url, Q_GROUP, { id: owned }, alice.token)).group;
  assert.equal(g1.memberCount, 2);
  assert.equal(g1.owner.id, carol.id, 'the admin takes over, as when the owner leaves');
  assert.deepEqual(g1.members.map((m: any) => m.user.id).sort(), [alice.id, carol.id].sort());
  const g2 = (await ok(s.url, Q_GROUP, { id: joined }, alice.token)).group;
  assert.equal(g2.memberCount, 2);
  assert.ok(!g2.members.some((m: any) => m.user.id === bob.id));
  const readers = (await ok(s.url, READERS, { g: joined, m: msg.id }, alice.token)).messageReaders;
  assert.deepEqual(readers, { read: [], unread: [{ id: carol.id }] });
  const [lone] = await sql.rows('SELECT member_count, dissolved_at IS NOT NULL AS dissolved FROM chat_group WHERE id = ?', [alone]);
  assert.deepEqual([lone.member_count, Number(lone.dissolved)], [0, 1], 'the last one out dissolves the group');
  assert.deepEqual(await sql.rows('SELECT conversation_id FROM conversation_member WHERE user_id = ? AND active = 1 AND role IS NOT NULL', [bob.id]), []);
});

test('every path that targets a user id answers for a deleted account exactly as for a missing one', async () => {
  const [alice, bob, carol] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await befriend(s.url, alice, carol);
  const gid = await newGroup(s.url, alice, [bob, carol]);
  await deleteUser(bob);

  const paths: Array<[string, string, (u: string) => Record<string, unknown>]> = [
    ['user', 'query($u: ID!) { user(id: $u) { id } }', (u) => ({ u })],
    ['users', 'query($u: String!) { users(search: $u) { id } }', () => ({ u: bob.account })],
    ['sendMessage', SEND, (u) => ({ i: { to: { userId: u }, clientMsgId: `p-${Math.random()}`, type: 'TEXT', content: 'x' } })],
    ['sendFriendRequest', 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', (u) => ({ u })],
    ['removeFriend', 'mutation($u: ID!) { removeFriend(userId: $u) }', (u) => ({ u })],
    ['updateFriend', 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', (u) => ({ u })],
    ['createGroup', 'mutation($u: ID!) { createGroup(name: "x", memberIds: [$u]) { id } }', (u) => ({ u })],
    ['addGroupMembers', 'mutation($g: ID!, $u: ID!) { addGroupMembers(groupId: $g, userIds: [$u]) { id } }', (u) => ({ g: gid, u })],
    ['removeGroupMember', 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }', (u) => ({ g: gid, u })],
    ['setGroupMemberRole', 'mutation($g: ID!, $u: ID!) { setGroupMemberRole(groupId: $g, userId: $u, role: ADMIN) { role } }', (u) => ({ g: gid, u })],
    ['deleteUser', DELETE, (u) => ({ id: u })],
  ];
  for (const [name, q, vars] of paths) {
    const deleted = answer(await gql(s.url, q, vars(bob.id), alice.token), bob.id);
    const missing = answer(await gql(s.url, q, name === 'users' ? vars(bob.id) : vars(MISSING), alice.token), MISSING);
    if (name === 'users') assert.deepEqual(deleted, { data: { users: [] } }, 'search does not find him');
    else assert.deepEqual(deleted, missing, `${name}: a deleted account answers as a missing one`);
  }
  const before = await sql.rows('SELECT COUNT(*) AS n FROM notification WHERE receiver_id = ?', [bob.id]);
  await gql(s.url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: bob.id }, carol.token);
  assert.deepEqual(await sql.rows('SELECT COUNT(*) AS n FROM notification WHERE receiver_id = ?', [bob.id]), before);
});

test('his sessions are revoked: the access token, the refresh token and the password stop working', async () => {
  const bob = await registerUser(s.url);
  await deleteUser(bob);
  assert.equal((await gql(s.url, '{ me { id } }', {}, bob.token)).errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  const refresh = await gql(s.url, 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }', { r: bob.refreshToken });
  assert.equal(refresh.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  const login = await gql(s.url, 'mutation($a: String!) { login(account: $a, password: "password123") { accessToken } }', { a: bob.account });
  assert.equal(login.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  const [row] = await sql.rows('SELECT COUNT(*) AS open FROM session WHERE user_id = ? AND revoked_at IS NULL', [bob.id]);
  assert.equal(Number(row.open), 0);
});

// README "Deleted accounts and blocks": history keeps his id and messages, so a new account under his name
// would let a stranger pass for him to those who knew the name.
test('a deleted account\'s name is never given out again: register answers CONFLICT, in any case', async () => {
  const bob = await registerUser(s.url);
  await deleteUser(bob);
  for (const account of [bob.account, bob.account.toUpperCase()]) {
    const r = await gql(s.url, 'mutation($a: String!) { register(account: $a, password: "password123") { user { id } } }', { a: account });
    assert.equal(r.errors?.[0].extensions?.code, 'CONFLICT', `${account}: ${JSON.stringify(r)}`);
  }
  assert.equal((await gql(s.url, 'query($id: ID!) { user(id: $id) { id } }', { id: bob.id }, (await registerUser(s.url)).token)).data?.user, null);
});

test('the migration ends the friend relations of accounts deleted before deletion did so', clusterOnly('a MariaDB data migration; the embedded schema never had such accounts'), async () => {
  const [alice, bob, carol, dave] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await befriend(s.url, alice, carol);
  await requestFriend(s.url, dave, bob);
  // What deleteUser used to leave behind: only the mark.
  await sql.rows('UPDATE user SET deleted_at = NOW(3) WHERE id = ?', [bob.id]);
  assert.ok(!(await sendTo(alice, { userId: bob.id })).errors, 'before the migration, sends to him still go through');
  for (const q of deletedAccountsFriendsSql) await sql.rows(q);
  assert.deepEqual(answer(await sendTo(alice, { userId: bob.id }), bob.id), answer(await sendTo(alice, { userId: MISSING }), MISSING));
  assert.deepEqual(await sql.rows('SELECT id FROM notification WHERE type = 1 AND status IN (1, 2, 3) AND receiver_id = ?', [bob.id]), []);
  assert.deepEqual((await ok(s.url, '{ friends { user { id } } }', {}, alice.token)).friends, [{ user: { id: carol.id } }], 'live friendships stay');
});
