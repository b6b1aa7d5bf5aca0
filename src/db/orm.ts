import type { MikroORM } from '@mikro-orm/core';
import { MikroORM as BetterSqliteOrm } from '@mikro-orm/better-sqlite';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { MikroORM as MariaDbOrm } from '@mikro-orm/mariadb';
import { Migrator } from '@mikro-orm/migrations';
import type { Database } from 'better-sqlite3';
import { createConnection } from 'mariadb';
import type { Config, MariaDbConfig, SqliteConfig } from '../config';
import { entities } from '../entities';
import type { Logger } from '../logger';
import { scopeAsyncLocalStorage } from './async-scopes';
import { migrationsList } from './migrations';
import { sqliteMigrationsList } from './migrations-sqlite';
import { CANONICAL_INT, type ConnectionLender, SqlitePool } from './sqlite-pool';
import { SqlPool } from './pool';
import type { Sql } from './sql';

/** MikroORM over either dialect; services see only its SQL EntityManager. */
export type Orm = MikroORM<AbstractSqlDriver, SqlEntityManager>;

/** CREATE DATABASE IF NOT EXISTS on a connection that names no database. */
export async function ensureDatabase(db: MariaDbConfig): Promise<void> {
  const conn = await createConnection({
    host: db.host, port: db.port, user: db.user, password: db.password, connectTimeout: 3000,
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(db: MariaDbConfig): Promise<void> {
  const conn = await createConnection({ host: db.host, port: db.port, user: db.user, password: db.password });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${db.name}\``);
  } finally {
    await conn.end();
  }
}

export async function createOrm(config: Config, log: Logger): Promise<Orm> {
  scopeAsyncLocalStorage();
  const db = config.database;
  return db.kind === 'sqlite' ? createSqliteOrm(db, log) : createMariaDbOrm(db, log);
}

async function createMariaDbOrm(db: MariaDbConfig, log: Logger): Promise<Orm> {
  const orm = await MariaDbOrm.init({
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
  return orm as unknown as Orm;
}

/**
 * Durability of the embedded database (D1: a send is answered only once
 * stored). WAL with synchronous=FULL syncs the log at every commit, so a
 * committed transaction survives a killed process and a lost machine alike;
 * NORMAL would survive only the first. The cost is one fsync per commit,
 * which the message writer's group commit shares among a batch.
 */
export const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'busy_timeout = 5000'];

/** MariaDB's GREATEST and LEAST (NULL if any argument is), so one statement text serves both dialects. */
function registerFunctions(db: Database): void {
  const pick = (better: (a: number | bigint, b: number | bigint) => boolean) => (...args: unknown[]) => {
    let out: any = null;
    for (const a of args) {
      if (a === null || a === undefined) return null;
      if (out === null || better(a as number, out)) out = a;
    }
    return out;
  };
  db.function('GREATEST', { varargs: true, deterministic: true }, pick((a, b) => a > b));
  db.function('LEAST', { varargs: true, deterministic: true }, pick((a, b) => a < b));
}

async function createSqliteOrm(db: SqliteConfig, log: Logger): Promise<Orm> {
  const orm = await BetterSqliteOrm.init({
    entities,
    dbName: db.file,
    // One connection: SQLite writes through one at a time, and the hand-written path borrows it (SqlitePool).
    pool: { min: 1, max: 1 },
    driverOptions: {
      // A statement waiting longer than this for the one connection is a bug (a transaction waiting on
      // a query outside it), not load: fail it visibly rather than hang for knex's default minute.
      acquireConnectionTimeout: 10_000,
      pool: {
        afterCreate(conn: Database, done: (err: Error | null, conn: Database) => void) {
          try {
            for (const p of SQLITE_PRAGMAS) conn.pragma(p);
            registerFunctions(conn);
            done(null, conn);
          } catch (e) {
            done(e as Error, conn);
          }
        },
      },
    },
    extensions: [Migrator],
    migrations: { migrationsList: sqliteMigrationsList, transactional: true, allOrNothing: true },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: false,
    logger: (msg) => log.debug(msg),
  });
  numericIdsInline(orm);
  return orm as unknown as Orm;
}

/**
 * MikroORM writes a statement's parameters into its text on SQLite. Ids
 * travel as decimal strings, and SQLite orders every number before every
 * string, so `COALESCE(last_read_id, 0) >= '12'` would never hold; MariaDB
 * compares them as numbers. Canonical decimal integers are therefore written
 * bare (a TEXT column stores 12 as '12' again). The same rule as the plain
 * path's parameters (sqlite-pool.ts, sqliteParams).
 */
function numericIdsInline(orm: MikroORM): void {
  const platform = orm.em.getPlatform() as unknown as { quoteValue(v: unknown): string };
  const quote = platform.quoteValue.bind(platform);
  platform.quoteValue = (v) => (typeof v === 'string' && CANONICAL_INT.test(v) ? v : quote(v));
}

/** The hand-written SQL path for the ORM's database: its own pool for MariaDB, the ORM's one connection for SQLite. */
export function createSql(config: Config, orm: Orm): Sql {
  if (config.database.kind === 'mariadb') return new SqlPool(config.database);
  return new SqlitePool(orm.em.getConnection().getKnex().client as unknown as ConnectionLender);
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
