// Every datetime is stored and returned in UTC, whatever the zone of the
// server process or of its MariaDB sessions. The file runs in Asia/Kolkata
// (UTC+05:30) on its own, not only under scripts/run-tests.js, so that it can
// fail when run alone; the server under test runs in this process.
process.env.TZ = 'Asia/Kolkata';

import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConnection } from 'mariadb';
import { loadConfig, type MariaDbConfig } from '../../src/config';
import { createOrm } from '../../src/db/orm';
import { SqlPool } from '../../src/db/pool';
import { toSqlDateTime } from '../../src/db/sql-time';
import { createLogger } from '../../src/logger';
import { createGroup, makeFriends, MESSAGE_FIELDS } from '../support/chat';
import { clusterOnly, ok, openDb, registerUser, startServer, testMode, type TestServer, type TestUser } from '../support/harness';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

/** Stored DATETIME columns as text, read on a session in the given zone (DATETIME is zone-free: both must agree). */
async function raw(sql: string, params: unknown[], timezone: string): Promise<Record<string, string>[]> {
  if (testMode === 'embedded') {
    // SQLite holds epoch milliseconds: shown as DATETIME(3) text in UTC, they must agree the same way.
    const db = await openDb(s);
    try {
      const rows: Record<string, unknown>[] = await db.query(sql, params);
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k.endsWith('_at') ? toSqlDateTime(new Date(Number(v))) : String(v)])));
    } finally {
      await db.end();
    }
  }
  const c = await createConnection({ host: '127.0.0.1', user: 'root', database: s.dbName, timezone, dateStrings: true });
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** DATETIME(3) text, read as the UTC instant it must hold. */
const utc = (text: string): string => new Date(`${text.replace(' ', 'T')}Z`).toISOString();

const near = (iso: string, label: string) => {
  const off = Math.abs(Date.parse(iso) - Date.now());
  assert.ok(off < 60_000, `${label} ${iso} is ${Math.round(off / 60_000)} min away from now (${new Date().toISOString()})`);
};

async function sendTo(from: TestUser, to: { userId?: string; groupId?: string }, clientMsgId: string) {
  const r = await ok(s.url, `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${MESSAGE_FIELDS} } }`, { i: { to, clientMsgId, type: 'TEXT', content: 'what time is it?' } }, from.token);
  return r.sendMessage as { id: string; createdAt: string };
}

test('the process runs in a zone that is not UTC', () => {
  assert.equal(new Date('2026-01-01T00:00:00Z').getTimezoneOffset(), -330);
});

test('createdAt is one UTC instant: the receipt, history, sync, conversations, a repeat and the stored row agree', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await makeFriends(s.url, a, b);
  // The first message of a conversation is stored alone, the next ones by the batch writer.
  const first = await sendTo(a, { userId: b.id }, `tz-${a.id}-1`);
  const second = await sendTo(a, { userId: b.id }, `tz-${a.id}-2`);
  const repeat = await sendTo(a, { userId: b.id }, `tz-${a.id}-1`);
  for (const [m, label] of [[first, 'first'], [second, 'second']] as const) near(m.createdAt, `${label} receipt`);
  assert.equal(repeat.id, first.id);
  assert.equal(repeat.createdAt, first.createdAt, 'a repeat returns the stored createdAt');

  const receipts = new Map([first, second].map((m) => [m.id, m.createdAt]));
  const history = await ok(s.url, `query($w: ConversationInput!) { history(with: $w) { messages { id createdAt } } }`, { w: { userId: b.id } }, a.token);
  assert.deepEqual(new Map(history.history.messages.map((m: { id: string; createdAt: string }) => [m.id, m.createdAt])), receipts, 'history');
  const sync = await ok(s.url, `{ sync { messages { id createdAt } } }`, {}, b.token);
  assert.deepEqual(new Map(sync.sync.messages.map((m: { id: string; createdAt: string }) => [m.id, m.createdAt])), receipts, 'sync');
  for (const u of [a, b]) {
    const c = await ok(s.url, `{ conversations { lastMessage { id createdAt } } }`, {}, u.token);
    assert.deepEqual(c.conversations.map((x: { lastMessage: unknown }) => x.lastMessage), [{ id: second.id, createdAt: second.createdAt }], 'conversations');
  }

  for (const tz of ['+00:00', '+05:30']) {
    const rows = await raw('SELECT id, created_at FROM message WHERE id IN (?, ?) ORDER BY id', [first.id, second.id], tz);
    assert.deepEqual(rows.map((r) => [String(r.id), utc(r.created_at)]), [...receipts], `stored created_at (session ${tz})`);
    const [conv] = await raw('SELECT c.last_activity_at, MIN(cm.joined_at) AS joined_at FROM conversation c JOIN conversation_member cm ON cm.conversation_id = c.id WHERE c.last_message_id = ? GROUP BY c.id', [second.id], tz);
    assert.equal(utc(conv.last_activity_at), second.createdAt, `stored last_activity_at (session ${tz})`);
    near(utc(conv.joined_at), 'stored joined_at');
  }
});

test('group messages, friendships and memberships are UTC too', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await makeFriends(s.url, a, b);
  const groupId = await createGroup(s.url, a, [b]);
  const m = await sendTo(a, { groupId }, `tz-${a.id}-g`);
  near(m.createdAt, 'group receipt');
  const h = await ok(s.url, `query($w: ConversationInput!) { history(with: $w) { messages { id createdAt } } }`, { w: { groupId } }, b.token);
  assert.deepEqual(h.history.messages, [{ id: m.id, createdAt: m.createdAt }]);
  const [stored] = await raw('SELECT created_at FROM message WHERE id = ?', [m.id], '+00:00');
  assert.equal(utc(stored.created_at), m.createdAt);

  const f = await ok(s.url, '{ friends { since } me { createdAt } }', {}, a.token);
  near(f.friends[0].since, 'friend since');
  near(f.me.createdAt, 'user createdAt');
  const g = await ok(s.url, 'query($g: ID!) { group(id: $g) { createdAt members { joinedAt } } }', { g: groupId }, a.token);
  near(g.group.createdAt, 'group createdAt');
  for (const x of g.group.members) near(x.joinedAt, 'member joinedAt');
});

test('the server sets its own MariaDB sessions to UTC, both the ORM and the plain pool', clusterOnly('MariaDB sessions; SQLite stores epoch milliseconds, which have no zone'), async () => {
  const config = loadConfig(s.env);
  const orm = await createOrm(config, createLogger('silent'));
  const pool = new SqlPool(config.database as MariaDbConfig, 1);
  try {
    const viaOrm = await orm.em.fork().execute('SELECT @@session.time_zone AS tz, NOW(3) AS now');
    const viaPool = await pool.execute('SELECT @@session.time_zone AS tz, NOW(3) AS now');
    for (const [r, label] of [[viaOrm[0], 'orm'], [viaPool[0], 'pool']] as const) {
      assert.equal(r.tz, '+00:00', `${label} session time_zone`);
      // Text from both (dateStrings); a Date here would have been read in the process's zone.
      assert.equal(typeof r.now, 'string', `${label} returns DATETIME as text`);
      near(utc(String(r.now)), `${label} NOW()`);
    }
  } finally {
    await pool.end();
    await orm.close(true);
  }
});
