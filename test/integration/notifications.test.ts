import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterOnly, errorCode, ok, registerUser, startServer, type TestServer } from '../support/harness';
import { NOTE, befriend, listen, newGroup, notes, requestFriend, snapshot, serverWithDb, type Db } from './social.helpers';

let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
});

const ACK = `mutation($ids: [ID!]!) { acknowledgeNotifications(ids: $ids) { id status } }`;
const PAGE = `query($s: NotificationStatus, $f: Int, $a: ID) { notifications(status: $s, first: $f, after: $a) { ${NOTE} } }`;

// D19: a stored row first, then the live push; notifications(status: INITIAL) is the catch-up.
test('D19: a friend request is stored INITIAL, pushed to every device of the receiver, and acknowledged to RECEIVED', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const phone = await listen(s, b);
  const laptop = await listen(s, b);
  try {
    const id = await requestFriend(s.url, a, b, 'hello');
    const [row] = await sql.rows('SELECT type, status, sender_id, receiver_id, remark FROM notification WHERE id = ?', [id]);
    assert.deepEqual(row, { type: 1, status: 1, sender_id: a.id, receiver_id: b.id, remark: 'hello' });
    for (const device of [phone, laptop]) {
      const [n] = await device.next(1);
      assert.deepEqual([n.id, n.type, n.status, n.sender.id, n.receiver.id, n.group], [id, 'FRIEND_REQUEST', 'INITIAL', a.id, b.id, null]);
    }
    assert.deepEqual((await notes(s.url, b, 'INITIAL')).map((n) => n.id), [id]);
    const acked = await ok(s.url, ACK, { ids: [id] }, b.token);
    assert.deepEqual(acked.acknowledgeNotifications, [{ id, status: 'RECEIVED' }]);
    assert.deepEqual(await notes(s.url, b, 'INITIAL'), []);
    assert.deepEqual((await notes(s.url, b, 'RECEIVED')).map((n) => n.id), [id]);
    // Acknowledging again changes nothing and is not an error.
    assert.deepEqual((await ok(s.url, ACK, { ids: [id] }, b.token)).acknowledgeNotifications, [{ id, status: 'RECEIVED' }]);
    // A RECEIVED request is still open: it can be answered.
    const r = await ok(s.url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { status } }', { n: id }, b.token);
    assert.equal(r.respondToFriendRequest.status, 'FULFILLED');
  } finally {
    await phone.close();
    await laptop.close();
  }
});

test('D19: a requester with no socket during the answer learns it at catch-up', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const id = await requestFriend(s.url, a, b);
  const lb = await listen(s, b);
  try {
    await ok(s.url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: id }, b.token);
  } finally {
    await lb.close();
  }
  const pending = await notes(s.url, a, 'INITIAL');
  assert.equal(pending.length, 1);
  assert.deepEqual([pending[0].type, pending[0].sender.id, pending[0].receiver.id], ['FRIEND_ACCEPTED', b.id, a.id]);
  // And a later socket gets only new notifications: the catch-up is the query, not a replay.
  const la = await listen(s, a);
  try {
    await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: a.id }, b.token);
    const [n] = await la.next(1);
    assert.equal(n.type, 'FRIEND_REMOVED');
    assert.equal(la.sub.values.length, 1);
  } finally {
    await la.close();
  }
});

test('D19: a push reaches the receiver on another server node (Redis pub/sub)', clusterOnly('a second node'), async () => {
  const other = await startServer({}, s.env);
  try {
    const a = await registerUser(s.url);
    const b = await registerUser(s.url);
    const lb = await listen({ ...s, wsUrl: other.wsUrl }, b);
    try {
      const id = await requestFriend(s.url, a, b);
      const [n] = await lb.next(1);
      assert.equal(n.id, id);
    } finally {
      await lb.close();
    }
  } finally {
    await other.close();
  }
});

test('D19: group membership changes are stored notifications with their group', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await befriend(s.url, a, b);
  const lb = await listen(s, b);
  try {
    const g = await newGroup(s.url, a, [b], 'news');
    const [joined] = await lb.next(1);
    assert.deepEqual([joined.type, joined.group.id, joined.group.name, joined.sender.id], ['GROUP_JOINED', g, 'news', a.id]);
    await ok(s.url, 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }', { g, u: b.id }, a.token);
    const [, removed] = await lb.next(2);
    assert.deepEqual([removed.type, removed.groupId, removed.group], ['GROUP_REMOVED', g, null], 'the group is for members: its id stays');
  } finally {
    await lb.close();
  }
  assert.deepEqual((await notes(s.url, b, 'INITIAL')).map((n) => n.type), ['GROUP_REMOVED', 'GROUP_JOINED']);
});

test('paging: newest first by id, `after` is exclusive, pages never overlap; status filters', async () => {
  const me = await registerUser(s.url);
  const senders = await Promise.all(Array.from({ length: 5 }, () => registerUser(s.url)));
  const ids: string[] = [];
  for (const u of senders) ids.push(await requestFriend(s.url, u, me));
  const newestFirst = [...ids].reverse();
  const p1 = (await ok(s.url, PAGE, { f: 2 }, me.token)).notifications.map((n: any) => n.id);
  const p2 = (await ok(s.url, PAGE, { f: 2, a: p1[1] }, me.token)).notifications.map((n: any) => n.id);
  const p3 = (await ok(s.url, PAGE, { f: 2, a: p2[1] }, me.token)).notifications.map((n: any) => n.id);
  assert.deepEqual([...p1, ...p2, ...p3], newestFirst);
  await ok(s.url, ACK, { ids: [ids[0], ids[2]] }, me.token);
  assert.deepEqual((await ok(s.url, PAGE, { s: 'RECEIVED' }, me.token)).notifications.map((n: any) => n.id), [ids[2], ids[0]]);
  assert.deepEqual((await ok(s.url, PAGE, { s: 'INITIAL', f: 2 }, me.token)).notifications.map((n: any) => n.id), [ids[4], ids[3]]);
  assert.deepEqual((await ok(s.url, PAGE, {}, me.token)).notifications.length, 5); // default first: 50
  for (const bad of [{ f: 0 }, { f: -1 }, { f: 1000 }, { a: 'x' }]) {
    assert.equal(await errorCode(s.url, PAGE, bad, me.token), 'BAD_USER_INPUT', JSON.stringify(bad));
  }
  // An unknown enum value fails GraphQL validation, still with a code.
  assert.ok(await errorCode(s.url, PAGE, { s: 'NOPE' }, me.token));
});

test('acknowledgeNotifications: one id that is not yours (or unknown) and nothing changes', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const c = await registerUser(s.url);
  const mine = await requestFriend(s.url, a, b);
  const theirs = await requestFriend(s.url, a, c);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, ACK, { ids: [mine, theirs] }, b.token), 'NOT_FOUND'); // as an unknown id
  assert.equal(await errorCode(s.url, ACK, { ids: [mine, '77777777'] }, b.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, ACK, { ids: [mine, 'zz'] }, b.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ACK, { ids: Array.from({ length: 501 }, (_, i) => String(i + 1)) }, b.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ACK, { ids: [mine] }), 'UNAUTHENTICATED');
  assert.equal(await snapshot(sql), before);
  assert.deepEqual((await notes(s.url, b, 'INITIAL')).map((n) => n.id), [mine]);
  assert.deepEqual((await ok(s.url, ACK, { ids: [] }, b.token)).acknowledgeNotifications, []);
});
