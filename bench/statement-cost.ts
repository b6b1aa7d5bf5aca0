// CPU per statement of the cursor store's statements, hand-written (the Sql
// path, src/db/sql.ts) against the same statement through MikroORM, on one
// dialect. It is what src/db/README.md cites for the statements kept
// hand-written.
//
//   node dist/bench/statement-cost.js <mariadb|sqlite> [--n 2000]
//
// mariadb: a database im_bench_cost_<pid> on 127.0.0.1:3306 (root), dropped at
// the end; sqlite: a file in a temporary directory, removed at the end.
// Statements run one at a time (no concurrency); CPU is this process's user +
// system time per statement, so for SQLite it includes the database's own
// work and for MariaDB only the client's (driver, ORM, query building).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LockMode, raw } from '@mikro-orm/core';
import { loadConfig } from '../src/config';
import { createOrm, createSql, dropDatabase, ensureDatabase, migrate } from '../src/db/orm';
import { marks } from '../src/db/sql-text';
import { DeviceCursor } from '../src/entities/device-cursor.entity';
import { createLogger } from '../src/logger';

const kind = process.argv[2];
const nArg = process.argv.indexOf('--n');
const N = nArg > 0 ? Number(process.argv[nArg + 1]) : 2000;
if (kind !== 'mariadb' && kind !== 'sqlite') {
  console.error('usage: node dist/bench/statement-cost.js <mariadb|sqlite> [--n 2000]');
  process.exit(64);
}

const USERS = 200;
const GUARD_USERS = 160;

async function main(): Promise<void> {
  const dir = kind === 'sqlite' ? mkdtempSync(path.join(tmpdir(), 'im-bench-cost-')) : undefined;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
    ...(dir ? { DATA_DIR: dir } : { DATABASE_URL: `mysql://root@127.0.0.1:3306/im_bench_cost_${process.pid}`, REDIS_URL: 'redis://127.0.0.1:6379' }),
  };
  const config = loadConfig(env);
  const log = createLogger('warn');
  if (config.database.kind === 'mariadb') await ensureDatabase(config.database);
  const orm = await createOrm(config, log);
  const sql = createSql(config, orm);
  try {
    await migrate(orm, log);
    const d = sql.dialect;
    const users = Array.from({ length: USERS }, (_, i) => String(i + 1));
    await sql.execute(
      `INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES ${users.map(() => '(?, ?, 1000, NULL, 0)').join(', ')}`,
      users.flatMap((u) => [u, 'd1']),
    );
    const guardUsers = users.slice(0, GUARD_USERS);
    const em = () => orm.em.fork();
    let i = 0;
    // Each pair: [what, hand-written, through MikroORM]. Ids stay above every last_ack, so no row changes shape.
    const pairs: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
      [
        `guards' plain read, ${GUARD_USERS} users (batched path)`,
        () => sql.execute(`SELECT user_id, device_id, last_ack FROM device_cursor WHERE user_id IN (${marks(guardUsers.length)})`, guardUsers),
        () => em().createQueryBuilder(DeviceCursor).select(['userId', 'deviceId', 'lastAck']).where({ userId: { $in: guardUsers } }).execute('all'),
      ],
      [
        'get: one cursor',
        () => sql.execute('SELECT last_ack, last_ack_err, version FROM device_cursor WHERE user_id = ? AND device_id = ?', [users[i++ % USERS], 'd1']),
        () => em().findOne(DeviceCursor, { userId: users[i++ % USERS], deviceId: 'd1' }),
      ],
      [
        'success (D9), one row',
        () => sql.execute(
          'UPDATE device_cursor SET last_ack = ? WHERE user_id = ? AND device_id = ? AND last_ack < ? AND (last_ack_err IS NULL OR ? < last_ack_err)',
          ['5', users[i++ % USERS], 'd1', '5', '5'],
        ),
        () => em().nativeUpdate(DeviceCursor, { userId: users[i++ % USERS], deviceId: 'd1', lastAck: { $lt: 5n }, $or: [{ lastAckErr: null }, { lastAckErr: { $gt: 5n } }] }, { lastAck: 5n }),
      ],
      [
        'fence (D7) upsert',
        () => sql.execute(
          d.upsert('INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, 0, 1, 1)', ['user_id', 'device_id'], [
            ['last_ack_err', 'CASE WHEN last_ack_err IS NULL OR last_ack + 1 < last_ack_err THEN last_ack + 1 ELSE last_ack_err END'],
            ['version', 'version + 1'],
          ]),
          [users[i++ % USERS], 'd1'],
        ),
        () => em().createQueryBuilder(DeviceCursor).insert({ userId: users[i++ % USERS], deviceId: 'd1', lastAck: 0n, lastAckErr: 1n, version: 1 }).onConflict(['userId', 'deviceId']).merge({
          lastAckErr: raw('CASE WHEN last_ack_err IS NULL OR last_ack + 1 < last_ack_err THEN last_ack + 1 ELSE last_ack_err END'),
          version: raw('version + 1'),
        }).execute('run'),
      ],
      [
        'a locking read by key (in a transaction of its own)',
        () => sql.transaction((run) => run(`SELECT last_ack FROM device_cursor WHERE user_id = ? AND device_id = ?${d.forUpdate}`, [users[i++ % USERS], 'd1'])),
        () => em().transactional((e) => e.createQueryBuilder(DeviceCursor).select('lastAck').where({ userId: users[i++ % USERS], deviceId: 'd1' }).setLockMode(LockMode.PESSIMISTIC_WRITE).execute('all')),
      ],
    ];
    console.log(`${kind}: CPU of this process per statement (user + system), ${N} runs each after ${N / 10} warm-up runs`);
    console.log('| statement | hand-written | MikroORM | ratio |');
    console.log('|---|---:|---:|---:|');
    for (const [what, hand, viaOrm] of pairs) {
      const a = await cost(hand);
      const b = await cost(viaOrm);
      console.log(`| ${what} | ${a.toFixed(0)} µs | ${b.toFixed(0)} µs | ${(b / a).toFixed(1)}× |`);
    }
  } finally {
    await sql.end();
    await orm.close(true);
    if (config.database.kind === 'mariadb') await dropDatabase(config.database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Mean CPU µs per call of `fn`, run one at a time. */
async function cost(fn: () => Promise<unknown>): Promise<number> {
  for (let k = 0; k < N / 10; k++) await fn();
  const start = process.cpuUsage();
  for (let k = 0; k < N; k++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / N;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
