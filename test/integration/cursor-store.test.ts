// The cursor rules as the store runs them, on the database of this pass
// (SQLite embedded, MariaDB cluster), against the pure rules of
// src/delivery/rules/cursor.ts: every single-row rule (through the
// DeviceCursor entity) from a grid of cursors and ids, the batched success
// and guard statements for one row each, and the entity against the
// migrated table. Concurrency is cursor-concurrency.test.ts's (MariaDB only).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config';
import { createOrm, createSql, ensureDatabase, migrate, type Orm } from '../../src/db/orm';
import type { Sql } from '../../src/db/sql';
import { CursorStore } from '../../src/delivery/cursor-store';
import { type Cursor, correctRules, type SyncTokenFields } from '../../src/delivery/rules';
import { createLogger } from '../../src/logger';
import { cleanupEnv, testEnv } from '../support/harness';

const env = testEnv();
const config = loadConfig(env);
let orm: Orm;
let sql: Sql;
let store: CursorStore;

before(async () => {
  if (config.database.kind === 'mariadb') await ensureDatabase(config.database);
  else mkdirSync(config.dataDir, { recursive: true });
  orm = await createOrm(config, createLogger('silent'));
  await migrate(orm, createLogger('silent'));
  sql = createSql(config, orm);
  // Windows of 0 ms: a batched row goes out on the next turn, alone in its statement.
  store = new CursorStore(() => sql, () => orm.em.fork(), undefined, 200, 0, 0);
});
after(async () => {
  await sql?.end();
  await orm?.close(true);
  await cleanupEnv(env);
});

let nextUser = 1000;
/** A cursor row of its own (a new user id each time) holding `c`. */
async function seeded(c: Cursor): Promise<string> {
  const user = String(nextUser++);
  await sql.execute('INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, ?, ?, ?)', [
    user, 'd1', c.lastAck.toString(), c.lastAckErr?.toString() ?? null, c.version,
  ]);
  return user;
}

const starts: Cursor[] = [
  { lastAck: 0n, lastAckErr: null, version: 0 },
  { lastAck: 10n, lastAckErr: null, version: 3 },
  { lastAck: 10n, lastAckErr: 11n, version: 1 },
  { lastAck: 10n, lastAckErr: 14n, version: 2 },
  { lastAck: 5n, lastAckErr: 20n, version: 7 },
];
const ids = [1n, 5n, 9n, 10n, 11n, 12n, 14n, 15n, 25n];
const show = (c: Cursor) => `{${c.lastAck}, ${c.lastAckErr}, v${c.version}}`;

test('the entity DeviceCursor is the migrated device_cursor table: the schema diff has nothing for it', async () => {
  const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  const mine = diff.split('\n').filter((l) => /device_cursor/.test(l));
  assert.deepEqual(mine, []);
});

test('get: an existing row as it is; a missing one is made fenced at the beginning, once, even when asked at once', async () => {
  const user = await seeded(starts[3]);
  assert.deepEqual(await store.get(user, 'd1'), starts[3]);
  const fresh = String(nextUser++);
  const got = await Promise.all([store.get(fresh, 'dX'), store.get(fresh, 'dX'), store.get(fresh, 'dX')]);
  for (const c of got) assert.deepEqual(c, { lastAck: 0n, lastAckErr: 1n, version: 1 });
  // Byte for byte: another spelling of the device is another row.
  assert.deepEqual(await store.get(fresh, 'dx'), { lastAck: 0n, lastAckErr: 1n, version: 1 });
  const rows = await sql.execute('SELECT device_id FROM device_cursor WHERE user_id = ? ORDER BY device_id', [fresh]);
  assert.deepEqual(rows.map((r: { device_id: string }) => r.device_id), ['dX', 'dx']);
});

for (const rule of ['failure', 'success'] as const) {
  test(`D${rule === 'failure' ? 8 : 9}: ${rule}(m) from every cursor of the grid ends where the pure rule ends`, async () => {
    const bad: string[] = [];
    for (const c of starts) {
      for (const m of ids) {
        const user = await seeded(c);
        await store[rule](user, 'd1', m.toString());
        const got = await store.get(user, 'd1');
        const want = correctRules[rule](c, m);
        if (show(got) !== show(want)) bad.push(`${rule}(${m}) on ${show(c)}: ${show(got)}, the rule says ${show(want)}`);
      }
    }
    assert.deepEqual(bad, []);
  });
}

test('D7: fence on an existing row and on a missing one ends where the pure rule ends', async () => {
  for (const c of starts) {
    const user = await seeded(c);
    await store.fence(user, 'd1');
    assert.deepEqual(await store.get(user, 'd1'), correctRules.fence(c), `fence on ${show(c)}`);
    await store.fence(user, 'd1');
    assert.deepEqual(await store.get(user, 'd1'), correctRules.fence(correctRules.fence(c)), `two fences on ${show(c)}`);
  }
  const fresh = String(nextUser++);
  await store.fence(fresh, 'd1');
  assert.deepEqual(await store.get(fresh, 'd1'), { lastAck: 0n, lastAckErr: 1n, version: 1 });
});

test('D13: syncAck applies exactly when the version is the token\'s and lastAck has not passed u, as the pure rule writes it', async () => {
  const bad: string[] = [];
  for (const c of starts) {
    for (const u of [0n, 5n, 10n, 12n, 25n]) {
      for (const version of [c.version, c.version + 1]) {
        for (const [hasMore, maxId] of [[false, u], [true, u], [false, u + 5n]] as const) {
          const user = await seeded(c);
          const token: SyncTokenFields = {
            userId: user, deviceId: 'd1', readLastAck: 0n, maxId, version, present: true, hasMore, count: 1, digest: '',
          };
          const applied = await store.syncAck(token, u);
          const got = await store.get(user, 'd1');
          const want = correctRules.syncAck(c, token, u, true).cursor;
          const label = `syncAck(u ${u}, v${version}, hasMore ${hasMore}, maxId ${maxId}) on ${show(c)}`;
          if (applied !== (version === c.version && c.lastAck <= u)) bad.push(`${label}: applied ${applied}`);
          if (show(got) !== show(want)) bad.push(`${label}: ${show(got)}, the rule says ${show(want)}`);
        }
      }
    }
  }
  assert.deepEqual(bad, []);
});

test('D9 and D7 batched (the hand-written statements): one success row and one guard row end where the pure rules end', async () => {
  const bad: string[] = [];
  for (const c of starts) {
    for (const m of ids) {
      const s = await seeded(c);
      await store.successLater(s, 'd1', m.toString());
      const gotS = await store.get(s, 'd1');
      if (show(gotS) !== show(correctRules.success(c, m))) bad.push(`successLater(${m}) on ${show(c)}: ${show(gotS)}`);
      const g = await seeded(c);
      await store.offline(m.toString(), { userIds: [g] });
      const gotG = await store.get(g, 'd1');
      if (show(gotG) !== show(correctRules.offline(c, m))) bad.push(`offline(${m}) on ${show(c)}: ${show(gotG)}`);
    }
  }
  assert.deepEqual(bad, []);
});
