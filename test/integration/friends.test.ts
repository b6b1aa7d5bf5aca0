import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode, gql, ok, registerUser, type TestServer } from '../support/harness';
import { befriend, friendsOf, listen, notes, requestFriend, snapshot, serverWithDb, type Db } from './social.helpers';

let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
});

const RESPOND = 'mutation($n: ID!, $a: Boolean!) { respondToFriendRequest(notificationId: $n, accept: $a) { id type status sender { id } } }';
const SEND = 'mutation($u: ID!, $r: String) { sendFriendRequest(userId: $u, remark: $r) { id } }';
const UPDATE = 'mutation($u: ID!, $r: String, $s: Boolean, $b: Boolean) { updateFriend(userId: $u, remark: $r, starred: $s, blocked: $b) { user { id } remark starred blocked since } }';
const REMOVE = 'mutation($u: ID!) { removeFriend(userId: $u) }';

test('request -> live push and catch-up -> accept -> both see the friendship; the answer is pushed back', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const [la, lb] = [await listen(s, a), await listen(s, b)];
  try {
    const sent = await ok(s.url, `mutation($u: ID!) { sendFriendRequest(userId: $u, remark: "hi, it's a") { id type status remark sender { id } receiver { id } } }`, { u: b.id }, a.token);
    assert.deepEqual(sent.sendFriendRequest.type, 'FRIEND_REQUEST');
    assert.equal(sent.sendFriendRequest.status, 'INITIAL');
    const [pushed] = await lb.next(1);
    assert.equal(pushed.id, sent.sendFriendRequest.id);
    assert.equal(pushed.sender.id, a.id);
    assert.equal(pushed.remark, "hi, it's a");
    const pending = await notes(s.url, b, 'INITIAL');
    assert.deepEqual(pending.map((n) => n.id), [pushed.id]);

    const r = await ok(s.url, RESPOND, { n: pushed.id, a: true }, b.token);
    assert.equal(r.respondToFriendRequest.status, 'FULFILLED');
    const [answer] = await la.next(1);
    assert.equal(answer.type, 'FRIEND_ACCEPTED');
    assert.equal(answer.sender.id, b.id);

    const fa = await friendsOf(s.url, a);
    const fb = await friendsOf(s.url, b);
    assert.deepEqual(fa.map((f) => f.user.id), [b.id]);
    assert.deepEqual(fb.map((f) => f.user.id), [a.id]);
    assert.equal(fa[0].since, fb[0].since);
    assert.deepEqual([fa[0].starred, fa[0].blocked, fa[0].remark], [false, false, null]);
    const [lo, hi] = BigInt(a.id) < BigInt(b.id) ? [a.id, b.id] : [b.id, a.id];
    assert.equal((await sql.rows('SELECT * FROM friendship WHERE user_lo = ? AND user_hi = ?', [lo, hi])).length, 1);
    assert.equal((await sql.rows('SELECT * FROM friend_setting WHERE (user_id = ? AND peer_id = ?) OR (user_id = ? AND peer_id = ?)', [a.id, b.id, b.id, a.id])).length, 2);
    // Answered: a second answer is refused.
    assert.equal(await errorCode(s.url, RESPOND, { n: pushed.id, a: false }, b.token), 'CONFLICT');
  } finally {
    await la.close();
    await lb.close();
  }
});

test('refusals: yourself, unknown user, existing friend, pending either way; each stores nothing', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const c = await registerUser(s.url);
  await befriend(s.url, a, b);
  const pendingId = await requestFriend(s.url, a, c);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, SEND, { u: a.id }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, SEND, { u: '99999999' }, a.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, SEND, { u: 'not-an-id' }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, SEND, { u: b.id }, a.token), 'CONFLICT');
  const again = await gql(s.url, SEND, { u: c.id }, a.token);
  assert.equal(again.errors?.[0].extensions?.code, 'CONFLICT');
  assert.match(again.errors![0].message, /pending/);
  assert.equal(again.errors![0].extensions?.notificationId, pendingId);
  const reverse = await gql(s.url, SEND, { u: a.id }, c.token);
  assert.equal(reverse.errors?.[0].extensions?.code, 'CONFLICT');
  assert.match(reverse.errors![0].message, /already sent you/);
  assert.equal(await errorCode(s.url, SEND, { u: b.id, r: 'x'.repeat(256) }, c.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, SEND, { u: b.id }), 'UNAUTHENTICATED');
  assert.equal(await snapshot(sql), before);
});

test('two requests crossing at the same moment: exactly one is stored', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const rs = await Promise.all([gql(s.url, SEND, { u: b.id }, a.token), gql(s.url, SEND, { u: a.id }, b.token)]);
  assert.equal(rs.filter((r) => !r.errors).length, 1);
  assert.equal(rs.find((r) => r.errors)?.errors?.[0].extensions?.code, 'CONFLICT');
});

test('reject: status REJECTED, the requester learns FRIEND_REJECTED, no friendship; may ask again later', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const id = await requestFriend(s.url, a, b);
  const r = await ok(s.url, RESPOND, { n: id, a: false }, b.token);
  assert.equal(r.respondToFriendRequest.status, 'REJECTED');
  assert.deepEqual((await notes(s.url, a, 'INITIAL')).map((n) => n.type), ['FRIEND_REJECTED']);
  assert.deepEqual(await friendsOf(s.url, a), []);
  await requestFriend(s.url, a, b);
});

test('remove: both sides lose it, the other side is told, and FRIEND_REMOVED cannot be accepted', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await befriend(s.url, a, b);
  assert.equal((await ok(s.url, REMOVE, { u: b.id }, a.token)).removeFriend, true);
  assert.deepEqual(await friendsOf(s.url, a), []);
  assert.deepEqual(await friendsOf(s.url, b), []);
  const removed = (await notes(s.url, b, 'INITIAL')).find((n) => n.type === 'FRIEND_REMOVED');
  assert.equal(removed?.sender.id, a.id);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, RESPOND, { n: removed.id, a: true }, b.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, REMOVE, { u: b.id }, a.token), 'NOT_FRIENDS');
  assert.equal(await errorCode(s.url, REMOVE, { u: a.id }, a.token), 'BAD_USER_INPUT');
  assert.equal(await snapshot(sql), before);
  await assert.rejects(s.app.services.friends.canMessage(a.id, b.id), { code: 'NOT_FRIENDS' });
});

test('updateFriend changes only the caller\'s own settings; left-out fields keep their value', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const stranger = await registerUser(s.url);
  await befriend(s.url, a, b);
  const u1 = await ok(s.url, UPDATE, { u: b.id, r: 'Bobby 🎉', s: true }, a.token);
  assert.deepEqual([u1.updateFriend.remark, u1.updateFriend.starred, u1.updateFriend.blocked], ['Bobby 🎉', true, false]);
  const u2 = await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, starred: false) { remark starred } }', { u: b.id }, a.token);
  assert.deepEqual([u2.updateFriend.remark, u2.updateFriend.starred], ['Bobby 🎉', false]);
  const u3 = await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, remark: null) { remark } }', { u: b.id }, a.token);
  assert.equal(u3.updateFriend.remark, null);
  const [bView] = await friendsOf(s.url, b);
  assert.deepEqual([bView.remark, bView.starred, bView.blocked], [null, false, false]);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, UPDATE, { u: stranger.id, s: true }, a.token), 'NOT_FRIENDS');
  assert.equal(await errorCode(s.url, UPDATE, { u: b.id, r: 'x'.repeat(65) }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, UPDATE, { u: a.id, s: true }, a.token), 'BAD_USER_INPUT');
  assert.equal(await snapshot(sql), before);
});

test('block: no messages from the blocked user, the block survives removal and holds requests', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await befriend(s.url, a, b);
  await s.app.services.friends.canMessage(b.id, a.id);
  await ok(s.url, UPDATE, { u: b.id, b: true }, a.token);
  // Refused as a non-friend is: the block is never told.
  await assert.rejects(s.app.services.friends.canMessage(b.id, a.id), { code: 'NOT_FRIENDS', message: 'you can only message your friends' });
  await s.app.services.friends.canMessage(a.id, b.id); // only the blocker's side refuses
  await ok(s.url, REMOVE, { u: a.id }, b.token);
  // b's request is answered as any other, but it never reaches a.
  const held = await requestFriend(s.url, b, a);
  assert.ok(!(await notes(s.url, a)).some((n) => n.id === held), 'the blocker sees the blocked user\'s request');
  await assert.rejects(s.app.services.friends.canMessage(b.id, a.id), { code: 'NOT_FRIENDS' });
  // The blocker may still reach out (answering the held request); the old block is kept until the blocker lifts it.
  await ok(s.url, RESPOND, { n: held, a: true }, a.token);
  assert.equal((await friendsOf(s.url, a))[0].blocked, true);
  await assert.rejects(s.app.services.friends.canMessage(b.id, a.id), { code: 'NOT_FRIENDS' });
  await ok(s.url, UPDATE, { u: b.id, b: false }, a.token);
  await s.app.services.friends.canMessage(b.id, a.id);
});

test('only the receiver answers a request; unknown and malformed ids are refused', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const c = await registerUser(s.url);
  const id = await requestFriend(s.url, a, b);
  const before = await snapshot(sql);
  // Someone else's request is NOT_FOUND, as an unknown one: an id tells nothing.
  assert.equal(await errorCode(s.url, RESPOND, { n: id, a: true }, c.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, RESPOND, { n: id, a: true }, a.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, RESPOND, { n: '88888888', a: true }, b.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, RESPOND, { n: '-1', a: true }, b.token), 'BAD_USER_INPUT');
  assert.equal(await snapshot(sql), before);
});
