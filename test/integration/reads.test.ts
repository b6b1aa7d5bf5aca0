import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGroup, makeFriends, send } from '../support/chat';
import { collect, errorCode, ok, registerUser, sleep, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

const MARK = 'mutation($w: ConversationInput!, $u: ID!) { markRead(with: $w, upTo: $u) { reader { id } peerId groupId lastRead } }';
const RECEIPTS = 'subscription { readReceipts { reader { id } peerId groupId lastRead } }';

function receipts(user: TestUser) {
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${user.token}` });
  return { client, sub: collect<{ readReceipts: { reader: { id: string }; peerId: string | null; groupId: string | null; lastRead: string } }>(client, RECEIPTS) };
}

const byId = (ids: string[]) => [...ids].sort((x, y) => Number(x) - Number(y));

async function friends(n: number): Promise<TestUser[]> {
  const users = await Promise.all(Array.from({ length: n }, () => registerUser(s.url)));
  for (let i = 1; i < n; i++) await makeFriends(s.url, users[0], users[i]);
  return users;
}

test('D15/D16: 1:1 markRead pushes a receipt to the peer and never moves back', async () => {
  const [a, b] = await friends(2);
  const r = receipts(a);
  await sleep(300); // SUBSCRIBE reaches Redis asynchronously
  const m1 = await send(s.url, a, { userId: b.id }, 'one');
  const m2 = await send(s.url, a, { userId: b.id }, 'two');
  const out = await ok(s.url, MARK, { w: { userId: a.id }, u: m2.id }, b.token);
  assert.deepEqual(out.markRead, { reader: { id: b.id }, peerId: a.id, groupId: null, lastRead: m2.id });
  const [got] = await r.sub.waitFor(1);
  assert.equal(got.readReceipts.reader.id, b.id);
  assert.equal(got.readReceipts.lastRead, m2.id);
  const back = await ok(s.url, MARK, { w: { userId: a.id }, u: m1.id }, b.token);
  assert.equal(back.markRead.lastRead, m2.id, 'lastRead never moves back');
  await sleep(200);
  assert.equal(r.sub.values.length, 1, 'no receipt when nothing new was read');
  const conv = await ok(s.url, '{ conversations { peer { id } unreadCount myLastRead peerLastRead lastMessage { id } } }', {}, a.token);
  assert.deepEqual(conv.conversations, [{ peer: { id: b.id }, unreadCount: 0, myLastRead: m2.id, peerLastRead: m2.id, lastMessage: { id: m2.id } }]);
  await r.client.dispose();
});

test('D15: upTo must be a message of that conversation', async () => {
  const [a, b, c] = await friends(3);
  await send(s.url, a, { userId: b.id }, 'ab');
  const other = await send(s.url, a, { userId: c.id }, 'ac');
  assert.equal(await errorCode(s.url, MARK, { w: { userId: a.id }, u: other.id }, b.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, MARK, { w: { userId: c.id }, u: other.id }, b.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, MARK, { w: { userId: a.id }, u: 'x' }, b.token), 'BAD_USER_INPUT');
});

test('D16: in a group the receipt goes only to the authors of the messages that just became read', async () => {
  const [a, b, c, d] = await friends(4);
  const gid = await createGroup(s.url, a, [b, c, d]);
  const ra = receipts(a);
  const rb = receipts(b);
  const rd = receipts(d);
  await sleep(300);
  await send(s.url, a, { groupId: gid }, 'from a');
  const mb = await send(s.url, b, { groupId: gid }, 'from b');
  await ok(s.url, MARK, { w: { groupId: gid }, u: mb.id }, c.token);
  await ra.sub.waitFor(1);
  await rb.sub.waitFor(1);
  await sleep(300);
  assert.equal(rd.sub.values.length, 0, 'a member whose messages were not read gets nothing');
  assert.equal(ra.sub.values[0].readReceipts.groupId, gid);
  // b's own later message: c reading it again notifies only b.
  const mb2 = await send(s.url, b, { groupId: gid }, 'b again');
  await ok(s.url, MARK, { w: { groupId: gid }, u: mb2.id }, c.token);
  await rb.sub.waitFor(2);
  await sleep(200);
  assert.equal(ra.sub.values.length, 1);
  for (const r of [ra, rb, rd]) await r.client.dispose();
});

test('D17/D18: messageReaders and exact unread counts; the sender and later joiners are excluded', async () => {
  const [a, b, c, d] = await friends(4);
  const gid = await createGroup(s.url, a, [b, c]);
  const m1 = await send(s.url, a, { groupId: gid }, 'm1');
  const m2 = await send(s.url, b, { groupId: gid }, 'm2');
  await send(s.url, a, { groupId: gid }, 'm3');
  await ok(s.url, 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }', { g: gid, u: [d.id] }, a.token);
  await ok(s.url, MARK, { w: { groupId: gid }, u: m1.id }, c.token);
  const q = 'query($g: ID!, $m: ID!) { messageReaders(groupId: $g, messageId: $m) { read { id } unread { id } } }';
  const r1 = await ok(s.url, q, { g: gid, m: m1.id }, a.token);
  // b sent m2 after m1, which moved b's lastRead past m1 (D2); a is the sender; d joined later.
  assert.deepEqual(r1.messageReaders.read.map((u: any) => u.id), byId([b.id, c.id]));
  assert.deepEqual(r1.messageReaders.unread.map((u: any) => u.id), []);
  const fixReads = (await ok(s.url, q, { g: gid, m: m2.id }, a.token)).messageReaders;
  assert.deepEqual(fixReads.read.map((u: any) => u.id), [a.id]);
  assert.deepEqual(fixReads.unread.map((u: any) => u.id), [c.id]);
  const unread = async (u: TestUser) =>
    (await ok(s.url, '{ conversations { group { id } unreadCount } }', {}, u.token)).conversations.find((x: any) => x.group?.id === gid).unreadCount;
  assert.equal(await unread(a), 0, 'own messages never count');
  assert.equal(await unread(b), 1);
  assert.equal(await unread(c), 2);
  assert.equal(await unread(d), 0, 'messages from before joining never count');
  const members = await ok(s.url, 'query($g: ID!) { group(id: $g) { members { user { id } lastRead } } }', { g: gid }, a.token);
  assert.equal(members.group.members.find((m: any) => m.user.id === c.id).lastRead, m1.id);
  assert.equal(await errorCode(s.url, q, { g: gid, m: m1.id }, (await registerUser(s.url)).token), 'NOT_FOUND');
});

test('conversations are ordered by last activity', async () => {
  const [a, b, c] = await friends(3);
  await send(s.url, a, { userId: b.id }, 'first');
  await send(s.url, a, { userId: c.id }, 'second');
  let list = (await ok(s.url, '{ conversations { peer { id } } }', {}, a.token)).conversations;
  assert.deepEqual(list.map((x: any) => x.peer.id), [c.id, b.id]);
  await send(s.url, b, { userId: a.id }, 'third');
  list = (await ok(s.url, '{ conversations { peer { id } unreadCount } }', {}, a.token)).conversations;
  assert.deepEqual(list.map((x: any) => x.peer.id), [b.id, c.id]);
  assert.equal(list[0].unreadCount, 1);
});
