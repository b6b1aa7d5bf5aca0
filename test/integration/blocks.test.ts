import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send } from '../support/chat';
import { type GqlResult, gql, ok, registerUser, type TestServer, type TestUser } from '../support/harness';
import { befriend, newGroup, notes, snapshot, serverWithDb, type Db } from './social.helpers';

let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
});

const BLOCK = 'mutation($u: ID!, $b: Boolean!) { updateFriend(userId: $u, blocked: $b) { blocked } }';
const CREATE = 'mutation($m: [ID!]!) { createGroup(name: "g", memberIds: $m) { id } }';
const ADD = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id memberCount } }';
const HISTORY = 'query($w: ConversationInput!) { history(with: $w) { messages { content sender { id } } } }';

const block = (who: TestUser, whom: TestUser, b = true) => ok(s.url, BLOCK, { u: whom.id, b }, who.token);
const anon = (r: GqlResult, ids: string[]) => {
  assert.ok(r.errors?.length, `expected a refusal, got ${JSON.stringify(r.data)}`);
  let message = r.errors[0].message;
  for (const id of ids) message = message.split(id).join('<id>');
  return { code: r.errors[0].extensions?.code, message };
};

/** alice, bob (who blocks alice) and carol, all three friends of each other. */
async function trio(): Promise<[TestUser, TestUser, TestUser]> {
  const [alice, bob, carol] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, alice, bob);
  await befriend(s.url, alice, carol);
  await befriend(s.url, bob, carol);
  return [alice, bob, carol];
}

test('the blocked user cannot create a group with the blocker: the answer is the one for a non-friend, nothing is stored', async () => {
  const [alice, bob] = await trio();
  const stranger = await registerUser(s.url);
  await block(bob, alice);
  const before = await snapshot(sql);
  const refused = await gql(s.url, CREATE, { m: [bob.id] }, alice.token);
  const asStranger = await gql(s.url, CREATE, { m: [stranger.id] }, alice.token);
  assert.deepEqual(anon(refused, [bob.id]), anon(asStranger, [stranger.id]));
  assert.ok(!/block/i.test(refused.errors![0].message), 'the refusal does not tell her she is blocked');
  assert.equal(await snapshot(sql), before, 'no group, no member row, no GROUP_JOINED');
  assert.deepEqual((await notes(s.url, bob)).filter((n) => n.type === 'GROUP_JOINED'), []);
});

test('the blocked user cannot add the blocker to a group, nor can anyone add one of them to a group holding the other', async () => {
  const [alice, bob, carol] = await trio();
  const stranger = await registerUser(s.url);
  const withAlice = await newGroup(s.url, alice, [carol], 'alice and carol');
  const withBob = await newGroup(s.url, carol, [bob], 'carol and bob');
  const carolsWithAlice = await newGroup(s.url, carol, [alice], 'carol and alice');
  await block(bob, alice);
  const before = await snapshot(sql);

  // alice herself: the same answer as for a non-friend.
  const refused = await gql(s.url, ADD, { g: withAlice, u: [bob.id] }, alice.token);
  assert.deepEqual(anon(refused, [bob.id]), anon(await gql(s.url, ADD, { g: withAlice, u: [stranger.id] }, alice.token), [stranger.id]));
  // A third member, either way round, and a new group with both.
  for (const [g, u] of [[withBob, alice], [carolsWithAlice, bob]] as const) {
    const r = await gql(s.url, ADD, { g, u: [u.id] }, carol.token);
    assert.equal(anon(r, [])?.code, 'FORBIDDEN');
  }
  assert.equal(anon(await gql(s.url, CREATE, { m: [alice.id, bob.id] }, carol.token), []).code, 'FORBIDDEN');
  // The blocker cannot bring her in either: a block holds both ways for new groups.
  assert.equal(anon(await gql(s.url, CREATE, { m: [alice.id] }, bob.token), []).code, 'FORBIDDEN');
  assert.equal(anon(await gql(s.url, ADD, { g: withBob, u: [alice.id] }, carol.token), []).code, 'FORBIDDEN');
  assert.equal(await snapshot(sql), before);

  // Lifting the block opens every path again.
  await block(bob, alice, false);
  assert.equal((await ok(s.url, ADD, { g: withAlice, u: [bob.id] }, alice.token)).addGroupMembers.memberCount, 3);
  await ok(s.url, CREATE, { m: [alice.id, bob.id] }, carol.token);
});

test('groups they already share stay: members keep their places and group messages still flow', async () => {
  const [alice, bob, carol] = await trio();
  const shared = await newGroup(s.url, carol, [alice, bob], 'shared');
  await block(bob, alice);
  const direct = await gql(s.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', { i: { to: { userId: bob.id }, clientMsgId: `b-${Math.random()}`, type: 'TEXT', content: 'hey' } }, alice.token);
  assert.ok(direct.errors?.length, 'her direct sends are refused');
  await send(s.url, alice, { groupId: shared }, 'in the shared group');
  const h = await ok(s.url, HISTORY, { w: { groupId: shared } }, bob.token);
  assert.deepEqual(h.history.messages.map((m: any) => [m.content, m.sender.id]), [['in the shared group', alice.id]]);
  const [g] = await sql.rows('SELECT member_count FROM chat_group WHERE id = ?', [shared]);
  assert.equal(g.member_count, 3);
});

test('friend requests: the blocked side cannot reach the blocker, whichever side ended the friendship', async () => {
  for (const remover of ['blocker', 'blocked'] as const) {
    const [alice, bob] = [await registerUser(s.url), await registerUser(s.url)];
    await befriend(s.url, alice, bob);
    await block(bob, alice);
    if (remover === 'blocker') await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: alice.id }, bob.token);
    else await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: bob.id }, alice.token);
    // Answered as any request (a block is never told), but held: bob never sees it.
    const r = await ok(s.url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: bob.id }, alice.token);
    const pending = (await notes(s.url, bob)).filter((n) => n.type === 'FRIEND_REQUEST' && n.status === 'INITIAL');
    assert.deepEqual(pending, [], `${remover} removed: her request reached him`);
    assert.ok(r.sendFriendRequest.id);
  }
});

test('setBlocked: a block needs no friendship, and outlives one: a stranger can be blocked, and unblocked after an unfriend', async () => {
  const SET = 'mutation($u: ID!, $b: Boolean!) { setBlocked(userId: $u, blocked: $b) }';
  const REQUEST = 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }';
  const pendingFor = async (u: TestUser) => (await notes(s.url, u)).filter((n) => n.type === 'FRIEND_REQUEST' && n.status === 'INITIAL');
  // A stranger who keeps asking: blocked before any friendship, her requests are held.
  const [carl, dina] = [await registerUser(s.url), await registerUser(s.url)];
  assert.deepEqual(await ok(s.url, SET, { u: dina.id, b: true }, carl.token), { setBlocked: true });
  await ok(s.url, REQUEST, { u: carl.id }, dina.token);
  assert.deepEqual(await pendingFor(carl), [], 'held from the blocker');
  // Unblocked: the held request shows, and can be answered.
  await ok(s.url, SET, { u: dina.id, b: false }, carl.token);
  const [req] = await pendingFor(carl);
  assert.equal(req?.sender.id, dina.id);

  // Block, then unfriend: the blocker can still lift it (updateFriend needs a friendship).
  const [dave, erin] = [await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, dave, erin);
  await block(dave, erin);
  await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: erin.id }, dave.token);
  await ok(s.url, REQUEST, { u: dave.id }, erin.token);
  assert.deepEqual(await pendingFor(dave), []);
  await ok(s.url, SET, { u: erin.id, b: false }, dave.token);
  assert.equal((await pendingFor(dave))[0]?.sender.id, erin.id, 'unblocked: her request is his to answer');

  // Bad targets: oneself, an id nobody has; the answer for a deleted account equals a missing one.
  assert.equal((await gql(s.url, SET, { u: dave.id, b: true }, dave.token)).errors?.[0].extensions?.code, 'BAD_USER_INPUT');
  assert.equal((await gql(s.url, SET, { u: '987654321987', b: true }, dave.token)).errors?.[0].extensions?.code, 'NOT_FOUND');
});
