import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConnection } from 'mariadb';
import { createGroup, makeFriends } from '../support/chat';
import { SqlPool } from '../../src/db/pool';
import { MessageType } from '../../src/entities/enums';
import { MessageWriter } from '../../src/services/message-writer';
import { clusterOnly, gql, ok, openDb, registerUser, startServer, type TestServer, type TestUser } from '../support/harness';

// Sends arriving together are stored by one transaction (MessageWriter):
// the D1-D3 answers and the D2 bookkeeping must be exactly those of one send at a time.

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }';
let n = 0;
const sendRaw = (from: TestUser, to: { userId?: string; groupId?: string }, clientMsgId = `gc-${++n}`) =>
  gql(s.url, SEND, { i: { to, clientMsgId, type: 'TEXT', content: `m ${clientMsgId}` } }, from.token);

/**
 * Sends issued in the same event-loop turn, straight to the message service:
 * they are sure to meet in one batch (over HTTP they arrive spread out, and
 * batches form only when earlier transactions are still running).
 */
function sendTogether(list: Array<[TestUser, { userId?: string; groupId?: string }, string?]>) {
  return Promise.all(
    list.map(([from, to, clientMsgId = `gc-${++n}`]) =>
      s.app.services.messages
        .send({ userId: from.id, deviceId: 'test-device' }, { to, clientMsgId, type: MessageType.TEXT, content: `m ${clientMsgId}` })
        .then(
          (row) => ({ row, code: undefined as string | undefined, message: undefined as string | undefined }),
          (e: { code?: string; message?: string }) => ({ row: undefined, code: e.code ?? String(e), message: e.message }),
        ),
    ),
  );
}

async function query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await openDb(s);
  try {
    return (await c.query(sql, params)) as T[];
  } finally {
    await c.end();
  }
}

// D2
test('concurrent sends to many conversations share transactions and keep every conversation gapless', async () => {
  const users = await Promise.all(Array.from({ length: 6 }, () => registerUser(s.url)));
  const [a, b, c, d, e, f] = users;
  for (const [x, y] of [[a, b], [c, d], [e, f], [a, c]] as const) await makeFriends(s.url, x, y);
  const gid = await createGroup(s.url, a, [b, c]);
  for (const [x, y] of [[a, b], [c, d], [e, f], [a, c]] as const) assert.ok((await sendRaw(x, { userId: y.id })).data, 'opening message');
  const before = s.app.services.messages.writeStats;

  // Both sides of a conversation at once, several conversations, a group: 120 sends together.
  const plan: Array<[TestUser, { userId?: string; groupId?: string }]> = [];
  for (let i = 0; i < 20; i++) {
    plan.push([a, { userId: b.id }], [b, { userId: a.id }], [c, { userId: d.id }], [e, { userId: f.id }], [a, { groupId: gid }], [c, { groupId: gid }]);
  }
  const results = await sendTogether(plan);
  assert.deepEqual(results.filter((r) => r.code), []);
  const after = s.app.services.messages.writeStats;
  assert.equal(after.stored - before.stored, 120, 'every send went through the batch path');
  assert.equal(after.batches - before.batches, 1, 'one transaction for all of them');
  // And over HTTP, concurrent sends are stored correctly too, whatever batches they form.
  const overHttp = await Promise.all(plan.slice(0, 30).map(([from, to]) => sendRaw(from, to)));
  assert.deepEqual(overHttp.filter((r) => r.errors), []);

  const rows = await query<{ conversation_id: number; id: number; seq: number; sender_id: number }>(
    'SELECT conversation_id, id, seq, sender_id FROM message ORDER BY conversation_id, id',
  );
  const byConversation = new Map<number, typeof rows>();
  for (const r of rows) byConversation.set(r.conversation_id, [...(byConversation.get(r.conversation_id) ?? []), r]);
  for (const [conv, list] of byConversation) {
    // Gapless, and id order is seq order (one stored order per conversation).
    assert.deepEqual(list.map((r) => r.seq), list.map((_, i) => i + 1), `conversation ${conv}`);
    const [head] = await query<{ head_seq: number; last_message_id: number }>('SELECT head_seq, last_message_id FROM conversation WHERE id = ?', [conv]);
    assert.equal(head.head_seq, list.length);
    assert.equal(head.last_message_id, list[list.length - 1].id);
    // Each sender's lastRead is their own newest message there (so unread never counts it).
    const members = await query<{ user_id: number; last_read_id: number; last_read_seq: number }>(
      'SELECT user_id, last_read_id, last_read_seq FROM conversation_member WHERE conversation_id = ?',
      [conv],
    );
    for (const m of members) {
      const own = list.filter((r) => r.sender_id === m.user_id);
      if (!own.length) continue;
      assert.equal(m.last_read_id, own[own.length - 1].id, `conversation ${conv}, member ${m.user_id}`);
      assert.equal(m.last_read_seq, own[own.length - 1].seq);
    }
  }
  // The returned receipts are the stored rows.
  const stored = new Map(rows.map((r) => [r.id, r]));
  for (const r of results) {
    const row = stored.get(Number(r.row!.id));
    assert.ok(row, `returned id ${r.row!.id} is stored`);
    assert.equal(row.seq, r.row!.seq);
    assert.equal(String(row.conversation_id), r.row!.conversation_id);
  }
});

// D2: where MariaDB does not promise consecutive ids (autoinc lock mode 2), the batch reads its ids back.
test('a batch that reads its ids back stores and answers the same', clusterOnly('MariaDB autoinc lock mode 2; SQLite batches take their ids from RETURNING'), async () => {
  const [a, b, c] = await Promise.all(Array.from({ length: 3 }, () => registerUser(s.url)));
  await makeFriends(s.url, a, b);
  await makeFriends(s.url, a, c);
  assert.ok((await sendRaw(a, { userId: b.id })).data);
  assert.ok((await sendRaw(c, { userId: a.id })).data);
  const pool = new SqlPool({ kind: 'mariadb', url: '', host: '127.0.0.1', port: 3306, user: 'root', password: '', name: s.dbName });
  try {
    const writer = new MessageWriter(pool, 128, 4, 10, 'read-back');
    const reqs = [[a, b], [b, a], [a, b], [a, c], [c, a]].map(([from, to], i) => ({
      senderId: from.id, to: { userId: to.id }, clientMsgId: `rb-${i}`, type: MessageType.TEXT, content: `read back ${i}`,
    }));
    const rows = await Promise.all(reqs.map((r) => writer.write(r)));
    assert.equal(writer.stats.batches, 1);
    for (const row of rows) {
      const [db] = await query<{ seq: number; content: string }>('SELECT seq, content FROM message WHERE id = ?', [row!.id]);
      assert.equal(db.seq, row!.seq);
      assert.equal(db.content, row!.content);
    }
    assert.deepEqual(rows.map((r) => r!.seq), [2, 3, 4, 2, 3]);
    const [head] = await query<{ last_message_id: number }>('SELECT last_message_id FROM conversation WHERE id = ?', [rows[2]!.conversation_id]);
    assert.equal(String(head.last_message_id), rows[2]!.id);
  } finally {
    await pool.end();
  }
});

// D1, D3: refusals and repeats inside a batch get the same answers as alone, and store nothing.
test('a batch with refusals and repeats in it: each gets its own answer, the rest is stored', async () => {
  const [a, b, stranger, blocker] = await Promise.all(Array.from({ length: 4 }, () => registerUser(s.url)));
  await makeFriends(s.url, a, b);
  await makeFriends(s.url, a, blocker);
  const gid = await createGroup(s.url, b, []);
  assert.ok((await sendRaw(a, { userId: b.id })).data);
  assert.ok((await sendRaw(a, { userId: blocker.id })).data);
  await ok(s.url, 'mutation($p: ID!) { updateFriend(userId: $p, blocked: true) { blocked } }', { p: a.id }, blocker.token);
  const stored = await sendRaw(a, { userId: b.id }, 'gc-repeat');
  const [{ count: before }] = await query<{ count: number }>('SELECT COUNT(*) AS count FROM message');

  const [fine1, notFriend, blocked, notMember, repeat, fine2] = await sendTogether([
    [a, { userId: b.id }],
    [a, { userId: stranger.id }],
    [a, { userId: blocker.id }],
    [a, { groupId: gid }],
    [a, { userId: b.id }, 'gc-repeat'],
    [a, { userId: b.id }],
  ]);
  assert.equal(notFriend.code, 'NOT_FRIENDS');
  // A block is never told: the same answer as a non-friend's, word for word.
  assert.deepEqual([blocked.code, blocked.message], [notFriend.code, notFriend.message]);
  assert.equal(notMember.code, 'NOT_FOUND');
  assert.equal(repeat.row?.id, stored.data.sendMessage.id, 'D3: the stored message answers a repeat');
  assert.deepEqual([fine1.row?.seq, fine2.row?.seq], [3, 4], 'no seq was taken by a refusal, and arrival order is seq order');
  const [{ count }] = await query<{ count: number }>('SELECT COUNT(*) AS count FROM message');
  assert.equal(count, before + 2);
});

test('a send batch waiting on a row lock does not hold up sends to other conversations', clusterOnly('SQLite has no row locks: one writer at a time'), async () => {
  const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, () => registerUser(s.url)));
  await makeFriends(s.url, a, b);
  await makeFriends(s.url, c, d);
  const first = await sendRaw(a, { userId: b.id });
  assert.ok((await sendRaw(c, { userId: d.id })).data);
  // Another transaction holds a..b's conversation row, as a membership change or a long markRead would.
  const locker = await createConnection({ host: '127.0.0.1', user: 'root', database: s.dbName });
  try {
    await locker.query('START TRANSACTION');
    await locker.query('SELECT c.id FROM conversation c JOIN message m ON m.conversation_id = c.id WHERE m.id = ? FOR UPDATE', [first.data.sendMessage.id]);
    let blockedDone = false;
    const blocked = sendRaw(a, { userId: b.id }).then((r) => ((blockedDone = true), r));
    await new Promise((r) => setTimeout(r, 50));
    const other = await sendRaw(c, { userId: d.id });
    assert.ok(other.data?.sendMessage.id, JSON.stringify(other.errors));
    assert.equal(blockedDone, false, 'the locked conversation is still waiting');
    await locker.query('COMMIT');
    const r = await blocked;
    assert.equal(r.data?.sendMessage.seq, 2);
  } finally {
    await locker.end();
  }
});
