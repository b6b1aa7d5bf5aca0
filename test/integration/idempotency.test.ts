import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MessageType } from '../../src/entities/enums';
import { createGroup, makeFriends, MESSAGE_FIELDS } from '../support/chat';
import { gql, ok, registerUser, startServer, type TestServer, type TestUser, queryDb } from '../support/harness';

// D3: a send repeated with the same clientMsgId is stored once and answered
// with the stored receipt, but only when it is the same message (sender,
// conversation, type, content, ext). Another message under a used
// clientMsgId is a CONFLICT naming the clash; before, it got the first
// message's receipt and was silently dropped. Both send paths: the batch
// (MessageWriter) and the one-message path (a conversation's first message).

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${MESSAGE_FIELDS} } }`;
type To = { userId?: string; groupId?: string };
const msg = (to: To, clientMsgId: string, content: string, more: { type?: string; ext?: string | null } = {}) => ({
  i: { to, clientMsgId, type: more.type ?? 'TEXT', content, ext: more.ext },
});
let n = 0;
const key = () => `idem-${process.pid}-${++n}`;

const rows = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(s, sql, params);
const storedUnder = async (sender: TestUser, clientMsgId: string) =>
  rows<{ id: number; receiver_id: number | null; content: string }>('SELECT id, receiver_id, content FROM message WHERE sender_id = ? AND client_msg_id = ?', [sender.id, clientMsgId]);

async function friends(count: number): Promise<TestUser[]> {
  const [a, ...rest] = await Promise.all(Array.from({ length: count + 1 }, () => registerUser(s.url)));
  for (const b of rest) await makeFriends(s.url, a, b);
  return [a, ...rest];
}

const stats = () => s.app.services.messages.writeStats;

test('a true repeat gets the stored receipt on both paths: the first message alone, a later one in a batch', async () => {
  const [a, bob] = await friends(1);
  // The first message of a conversation goes the one-message path.
  const k1 = key();
  const before1 = stats().stored;
  const first = (await ok(s.url, SEND, msg({ userId: bob.id }, k1, 'hello bob', { ext: '{"x":1}' }), a.token)).sendMessage;
  assert.equal(stats().stored, before1, 'stored alone, not by a batch');
  assert.deepEqual((await ok(s.url, SEND, msg({ userId: bob.id }, k1, 'hello bob', { ext: '{"x":1}' }), a.token)).sendMessage, first);
  // Later messages go the batch path.
  const k2 = key();
  const before2 = stats().stored;
  const second = (await ok(s.url, SEND, msg({ userId: bob.id }, k2, 'again'), a.token)).sendMessage;
  assert.equal(stats().stored, before2 + 1, 'stored by a batch');
  assert.deepEqual((await ok(s.url, SEND, msg({ userId: bob.id }, k2, 'again', { ext: null }), a.token)).sendMessage, second);
  assert.equal((await storedUnder(a, k1)).length + (await storedUnder(a, k2)).length, 2);
});

test('the same clientMsgId for a message to another conversation is a CONFLICT, and nothing of it is stored', async () => {
  const [a, bob, carol] = await friends(2);
  for (const path of ['alone', 'batch'] as const) {
    if (path === 'batch') {
      // Conversations exist now: both sends below would go through a batch.
      await ok(s.url, SEND, msg({ userId: bob.id }, key(), 'opening'), a.token);
      await ok(s.url, SEND, msg({ userId: carol.id }, key(), 'opening'), a.token);
    }
    const k = key();
    const toBob = (await ok(s.url, SEND, msg({ userId: bob.id }, k, 'for bob'), a.token)).sendMessage;
    const r = await gql(s.url, SEND, msg({ userId: carol.id }, k, 'for carol'), a.token);
    assert.equal(r.errors?.[0]?.extensions?.code, 'CONFLICT', `${path}: ${JSON.stringify(r)}`);
    assert.match(r.errors![0].message, /clientMsgId already used for a different message/);
    assert.deepEqual(r.errors![0].extensions!.differs, ['conversation', 'content']);
    assert.deepEqual(await storedUnder(a, k), [{ id: Number(toBob.id), receiver_id: Number(bob.id), content: 'for bob' }], `${path}: only bob's message`);
  }
  const carolHistory = (await ok(s.url, 'query($u: ID!) { history(with: { userId: $u }) { messages { content } } }', { u: a.id }, carol.token)).history.messages;
  assert.deepEqual(carolHistory.map((m: { content: string }) => m.content), ['opening']);
});

test('a repeat that changes the content, the type or ext, or moves to a group, is a CONFLICT naming what differs', async () => {
  const [a, bob] = await friends(1);
  const gid = await createGroup(s.url, a, [bob]);
  const k = key();
  await ok(s.url, SEND, msg({ userId: bob.id }, k, 'original', { ext: 'e' }), a.token);
  const cases: Array<[ReturnType<typeof msg>, string[]]> = [
    [msg({ userId: bob.id }, k, 'edited', { ext: 'e' }), ['content']],
    [msg({ userId: bob.id }, k, 'original ', { ext: 'e' }), ['content']],
    [msg({ userId: bob.id }, k, 'original', { ext: 'e', type: 'IMAGE' }), ['type']],
    [msg({ userId: bob.id }, k, 'original'), ['ext']],
    [msg({ userId: bob.id }, k, 'original', { ext: 'f' }), ['ext']],
    [msg({ groupId: gid }, k, 'original', { ext: 'e' }), ['conversation']],
  ];
  for (const [vars, differs] of cases) {
    const r = await gql(s.url, SEND, vars, a.token);
    assert.equal(r.errors?.[0]?.extensions?.code, 'CONFLICT', JSON.stringify(vars));
    assert.deepEqual(r.errors![0].extensions!.differs, differs);
  }
  assert.equal((await storedUnder(a, k)).length, 1);
  assert.equal((await rows('SELECT id FROM message WHERE group_id = ?', [gid])).length, 0);
});

test('clientMsgIds that differ only in case or by a trailing character are two messages', async () => {
  const [a, bob] = await friends(1);
  const base = key();
  const lower = (await ok(s.url, SEND, msg({ userId: bob.id }, `${base}-abc`, 'lower'), a.token)).sendMessage;
  const upper = (await ok(s.url, SEND, msg({ userId: bob.id }, `${base}-ABC`, 'upper'), a.token)).sendMessage;
  assert.notEqual(upper.id, lower.id);
  assert.equal(upper.content, 'upper');
  assert.equal(upper.clientMsgId, `${base}-ABC`);
});

/** Sends issued in the same event-loop turn, straight to the service, so they meet in one batch (or its next one). */
function sendTogether(from: TestUser, list: Array<{ to: To; clientMsgId: string; content: string }>) {
  return Promise.all(
    list.map((m) =>
      s.app.services.messages.send({ userId: from.id, deviceId: 'test-device' }, { ...m, type: MessageType.TEXT }).then(
        (row) => ({ row, code: undefined as string | undefined }),
        (e: { code?: string }) => ({ row: undefined, code: e.code ?? String(e) }),
      ),
    ),
  );
}

test('concurrent repeats in one batch: all get the one stored receipt; a concurrent clash gets CONFLICT', async () => {
  const [a, bob, carol] = await friends(2);
  await ok(s.url, SEND, msg({ userId: bob.id }, key(), 'opening'), a.token);
  await ok(s.url, SEND, msg({ userId: carol.id }, key(), 'opening'), a.token);

  const k = key();
  const same = await sendTogether(a, Array.from({ length: 6 }, () => ({ to: { userId: bob.id }, clientMsgId: k, content: 'once' })));
  assert.deepEqual(same.map((r) => r.code), Array(6).fill(undefined));
  assert.equal(new Set(same.map((r) => r.row!.id)).size, 1, 'one id for every repeat');
  assert.equal((await storedUnder(a, k)).length, 1);

  // Over HTTP too, with the repeats racing each other.
  const k2 = key();
  const overHttp = await Promise.all(Array.from({ length: 6 }, () => ok(s.url, SEND, msg({ userId: bob.id }, k2, 'racing'), a.token)));
  assert.equal(new Set(overHttp.map((r) => r.sendMessage.id)).size, 1);

  // The same clientMsgId for bob and for carol in one batch: the first is stored, the other is refused.
  const k3 = key();
  const clash = await sendTogether(a, [
    { to: { userId: bob.id }, clientMsgId: k3, content: 'bob first' },
    { to: { userId: carol.id }, clientMsgId: k3, content: 'carol second' },
    { to: { userId: bob.id }, clientMsgId: k3, content: 'bob first' },
  ]);
  assert.deepEqual(clash.map((r) => r.code), [undefined, 'CONFLICT', undefined]);
  assert.equal(clash[0].row!.id, clash[2].row!.id);
  assert.deepEqual((await storedUnder(a, k3)).map((r) => r.content), ['bob first']);
});
