import { MikroORM } from '@mikro-orm/mariadb';
import { Migrator } from '@mikro-orm/migrations';
import { createConnection } from 'mariadb';
import type { Config } from '../config';
import { entities } from '../entities';
import type { Logger } from '../logger';
import { scopeAsyncLocalStorage } from './async-scopes';
import { migrationsList } from './migrations';

export type Orm = MikroORM;

/** CREATE DATABASE IF NOT EXISTS on a connection that names no database. */
export async function ensureDatabase(db: Config['database']): Promise<void> {
  const conn = await createConnection({
    host: db.host, port: db.port, user: db.user, password: db.password, connectTimeout: 3000,
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(db: Config['database']): Promise<void> {
  const conn = await createConnection({ host: db.host, port: db.port, user: db.user, password: db.password });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${db.name}\``);
  } finally {
    await conn.end();
  }
}

export async function createOrm(config: Config, log: Logger): Promise<Orm> {
  const db = config.database;
  scopeAsyncLocalStorage();
  const orm = await MikroORM.init({
    entities,
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    dbName: db.name,
    charset: 'utf8mb4',
    // UTC whatever the process's or the server's zone: the session's time_zone is set to
    // +00:00, Date parameters are written as UTC text (MikroORM formats every statement
    // itself) and DATETIMEs are read as text and taken as UTC (see sql-time).
    timezone: 'Z',
    pool: { min: 2, max: 40 },
    driverOptions: { connection: { bigIntAsNumber: false, insertIdAsNumber: false, decimalAsNumber: false } },
    extensions: [Migrator],
    migrations: { migrationsList, transactional: false, allOrNothing: false },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: false,
    logger: (msg) => log.debug(msg),
  });
  return orm;
}

/** Applies committed migrations; never `synchronize`. */
export async function migrate(orm: Orm, log: Logger): Promise<void> {
  const applied = await orm.getMigrator().up();
  if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
}

/**
 * MikroORM's connection pool (knex's tarn pool) for metrics, or undefined
 * where this MikroORM version keeps it elsewhere: connections in use, idle,
 * open, and requests waiting for one.
 */
export function ormPoolStats(orm: Orm): { active: number; idle: number; total: number; waiting: number } | undefined {
  try {
    const pool = (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
    if (!pool) return undefined;
    const active = pool.numUsed();
    const idle = pool.numFree();
    return { active, idle, total: active + idle, waiting: pool.numPendingAcquires() };
  } catch {
    return undefined;
  }
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
