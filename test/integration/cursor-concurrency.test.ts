import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig, type MariaDbConfig } from '../../src/config';
import { CursorStore } from '../../src/delivery/cursor-store';
import { mariadb } from '../../src/db/dialect';
import { type Cursor, correctRules } from '../../src/delivery/rules';
import { createOrm, dropDatabase, ensureDatabase, migrate, type Orm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { testEnv } from '../support/harness';

// cluster-only: it races 40 MariaDB connections; the embedded database writes through one connection, one statement at a time.
// D8, D9, D10 under real concurrency: many outcome updates for one cursor at
// once on MariaDB (40 pooled connections), compared with the pure rules.

const config = loadConfig(testEnv());
let orm: Orm;
type LooseSql = { dialect: typeof mariadb; execute(q: string, p?: unknown[], method?: 'all' | 'run'): Promise<any> };
let sql: () => LooseSql;
before(async () => {
  await ensureDatabase(config.database as MariaDbConfig);
  orm = await createOrm(config, createLogger('silent'));
  await migrate(orm, createLogger('silent'));
  const conn = orm.em.getConnection();
  sql = () => ({ dialect: mariadb, execute: (q, p = [], method) => conn.execute(q, p, method ?? (/^\s*SELECT/i.test(q) ? 'all' : 'run')) });
});
after(async () => {
  await orm?.close(true);
  await dropDatabase(config.database as MariaDbConfig);
});

type Op = { kind: 'success' | 'failure'; m: bigint };

function shuffle<T>(xs: T[], seed = 7): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const model = (start: Cursor, ops: Op[]) => ops.reduce((c, o) => correctRules[o.kind](c, o.m), start);

async function row(user: string): Promise<Cursor> {
  return new CursorStore(sql, () => orm.em.fork()).get(user, 'd1');
}

async function seed(user: string, c: Cursor): Promise<void> {
  await sql().execute(
    'INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, ?, ?, ?)',
    [user, 'd1', c.lastAck.toString(), c.lastAckErr?.toString() ?? null, c.version],
    'run',
  );
}

/** Runs every op on its own pooled connection, `width` at a time. */
async function runConcurrently(apply: (o: Op) => Promise<void>, ops: Op[], width = 40): Promise<void> {
  const queue = [...ops];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let o = queue.shift(); o; o = queue.shift()) await apply(o);
    }),
  );
}

const store = () => new CursorStore(sql, () => orm.em.fork());
const atomic = (user: string) => (o: Op) => store()[o.kind](user, 'd1', o.m.toString());

// Successes below the failures commute with them, so any serial order of these ops ends in one state.
const mixed: Op[] = shuffle([
  ...Array.from({ length: 120 }, (_, i) => ({ kind: 'success' as const, m: BigInt(i + 1) })),
  ...Array.from({ length: 60 }, (_, i) => ({ kind: 'failure' as const, m: BigInt(i + 201) })),
]);

test('D8/D9: 180 concurrent outcomes for one cursor end where the pure rules end', async () => {
  const start: Cursor = { lastAck: 0n, lastAckErr: null, version: 0 };
  await seed('1', start);
  await runConcurrently(atomic('1'), mixed);
  const expected = model(start, mixed);
  assert.deepEqual(await row('1'), expected);
  assert.deepEqual(expected, { lastAck: 120n, lastAckErr: 201n, version: 60 });
});

test('D9: batched successes (many devices and ids per statement) end where the pure rules end', async () => {
  const st = store();
  const users = ['10', '11', '12', '13'];
  const starts: Cursor[] = [
    { lastAck: 0n, lastAckErr: null, version: 0 },
    { lastAck: 10n, lastAckErr: 40n, version: 2 },
    { lastAck: 0n, lastAckErr: 1n, version: 1 },
    { lastAck: 100n, lastAckErr: null, version: 0 },
  ];
  for (const [i, u] of users.entries()) await seed(u, starts[i]);
  const ops = shuffle(users.flatMap((u) => Array.from({ length: 60 }, (_, k) => ({ u, m: BigInt(k * 3 + 1) }))));
  await Promise.all(ops.map((o) => st.successLater(o.u, 'd1', o.m.toString())));
  for (const [i, u] of users.entries()) {
    const mine = ops.filter((o) => o.u === u);
    const expected = mine.reduce((c, o) => correctRules.success(c, o.m), starts[i]);
    const got = await row(u);
    const err = starts[i].lastAckErr;
    if (err !== null && mine.some((o) => o.m < err && o.m > starts[i].lastAck) && mine.some((o) => o.m >= err)) {
      // mergeSuccesses: with the fence between ids gathered together, the cursor may stay lower
      // (a longer sync), never higher, and only on an id the device acknowledged.
      assert.equal(got.lastAckErr, expected.lastAckErr, `user ${u}`);
      assert.equal(got.version, expected.version, `user ${u}`);
      assert.ok(got.lastAck <= expected.lastAck, `user ${u}: ${got.lastAck} passed ${expected.lastAck}`);
      assert.ok(got.lastAck === starts[i].lastAck || mine.some((o) => o.m === got.lastAck), `user ${u}`);
    } else assert.deepEqual(got, expected, `user ${u}`);
  }
  // The same device's successes below the fence, acknowledged apart from those above it, land exactly.
  await seed('14', starts[1]);
  await Promise.all([13n, 22n, 37n].map((m) => st.successLater('14', 'd1', m.toString())));
  await Promise.all([43n, 52n].map((m) => st.successLater('14', 'd1', m.toString())));
  assert.deepEqual(await row('14'), { lastAck: 37n, lastAckErr: 40n, version: 2 });
});

test('D7: batched offline guards record failure(m) only where m <= lastAck, for every guard of a user', async () => {
  const st = store();
  const start: Cursor = { lastAck: 50n, lastAckErr: null, version: 0 };
  await seed('20', start);
  await seed('21', { lastAck: 5n, lastAckErr: null, version: 0 });
  const ms = shuffle([40n, 30n, 45n, 60n, 70n]);
  await Promise.all([...ms.map((m) => st.offline(m.toString(), { userIds: ['20', '21'] }))]);
  const expected = ms.reduce((c, m) => correctRules.offline(c, m), start);
  const got = await row('20');
  // Guards that wait together are merged (mergeGuards): the same columns, fewer version bumps.
  assert.deepEqual({ ...got, version: 0 }, { ...expected, version: 0 });
  assert.deepEqual({ lastAck: got.lastAck, lastAckErr: got.lastAckErr }, { lastAck: 29n, lastAckErr: 30n });
  assert.ok(got.version >= 1 && got.version <= expected.version, `version ${got.version}: bumped, at most once per guard`);
  assert.deepEqual(await row('21'), { lastAck: 5n, lastAckErr: null, version: 0 }, 'below every m: untouched');
});

test('D8: concurrent failures below lastAck pull it down to the smallest failure', async () => {
  const start: Cursor = { lastAck: 500n, lastAckErr: null, version: 0 };
  const ops: Op[] = shuffle(Array.from({ length: 100 }, (_, i) => ({ kind: 'failure' as const, m: BigInt(300 + ((i * 37) % 150)) })));
  await seed('2', start);
  await runConcurrently(atomic('2'), ops);
  assert.deepEqual(await row('2'), model(start, ops));
  assert.deepEqual(await row('2'), { lastAck: 299n, lastAckErr: 300n, version: 100 });
});

test('D7/D9: under a fence, concurrent successes above it never move lastAck', async () => {
  const start: Cursor = { lastAck: 50n, lastAckErr: 51n, version: 1 };
  const ops: Op[] = Array.from({ length: 64 }, (_, i) => ({ kind: 'success' as const, m: BigInt(51 + i) }));
  await seed('3', start);
  await runConcurrently(atomic('3'), ops);
  assert.deepEqual(await row('3'), start);
});

test('the same test catches a read-modify-write cursor (the predecessor\'s lost updates)', async () => {
  const start: Cursor = { lastAck: 0n, lastAckErr: null, version: 0 };
  await seed('4', start);
  // Every worker reads, all wait until everyone has read, then each writes what it computed.
  let reads = 0;
  let release!: () => void;
  const allRead = new Promise<void>((r) => (release = r));
  const width = 40;
  const ops = mixed.slice(0, width);
  const readModifyWrite = async (o: Op) => {
    const c = await row('4');
    if (++reads === width) release();
    await allRead;
    const n = correctRules[o.kind](c, o.m);
    await sql().execute(
      'UPDATE device_cursor SET last_ack = ?, last_ack_err = ?, version = ? WHERE user_id = ? AND device_id = ?',
      [n.lastAck.toString(), n.lastAckErr?.toString() ?? null, n.version, '4', 'd1'],
      'run',
    );
  };
  await runConcurrently(readModifyWrite, ops, width);
  assert.notDeepEqual(await row('4'), model(start, ops), 'read-modify-write should lose updates');
});
