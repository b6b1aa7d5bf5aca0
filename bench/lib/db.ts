import { join } from 'node:path';
import BetterSqlite, { type Database } from 'better-sqlite3';
import * as mariadb from 'mariadb';
import type { Target } from './server';

/** A value in a seeded row: a literal, or SQL text (e.g. the dialect's "now") written as is. */
export type Value = number | string | null | { sql: string };

/**
 * The bench's own access to the database of a server it started: the
 * MariaDB database of a cluster run, or the SQLite file in the DATA_DIR of
 * an embedded run (opened by this process beside the server; SQLite's file
 * locks keep the two consistent, and every write here is a short
 * transaction, well inside the server's busy_timeout of 5 s).
 * Statements use `?` parameters and SQL both dialects accept.
 */
export interface BenchDb {
  readonly kind: 'mariadb' | 'sqlite';
  /** Rows of a read. */
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A write: the rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /**
   * Inserts `rows` into `table (columns)`. MariaDB: multi-row INSERTs of
   * 1,000 on three connections at once (as the first rounds seeded);
   * SQLite: one prepared INSERT, 10,000 rows per transaction.
   */
  insertRows(table: string, columns: string[], rows: Iterable<Value[]>): Promise<void>;
  /** SQL for the current time `offsetS` seconds ahead, as the server stores times (UTC DATETIME(3); epoch ms in SQLite). */
  now(offsetS?: number): { sql: string };
  end(): Promise<void>;
}

const MARIADB_ROWS_PER_INSERT = 1000;
const SQLITE_ROWS_PER_TRANSACTION = 10_000;

/** The database of a server the runner started, or undefined against --server. */
export function openDb(t: Target): BenchDb | undefined {
  if (t.db) return mariaDb(t.db);
  if (t.dataDir) return sqliteDb(join(t.dataDir, 'im.sqlite'));
  return undefined;
}

/** SQL text of one value; strings here are the bench's own (ids, fixed words), quoted all the same. */
function literal(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return v.sql;
}

export function mariaDb(db: string): BenchDb {
  const pool = mariadb.createPool({ host: '127.0.0.1', port: 3306, user: 'root', database: db, connectionLimit: 4, bigIntAsNumber: true, insertIdAsNumber: true });
  return {
    kind: 'mariadb',
    all: async (sql, params = []) => pool.query(sql, params),
    run: async (sql, params = []) => Number((await pool.query(sql, params)).affectedRows),
    async insertRows(table, columns, rows) {
      const it = rows[Symbol.iterator]();
      const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
      const next = (): string | undefined => {
        const chunk: string[] = [];
        for (let r = it.next(); !r.done; r = it.next()) {
          chunk.push(`(${r.value.map(literal).join(',')})`);
          if (chunk.length === MARIADB_ROWS_PER_INSERT) break;
        }
        return chunk.length ? head + chunk.join(',') : undefined;
      };
      await Promise.all(Array.from({ length: 3 }, async () => {
        for (let sql = next(); sql; sql = next()) await pool.query(sql);
      }));
    },
    now: (offsetS = 0) => ({ sql: offsetS ? `UTC_TIMESTAMP(3) + INTERVAL ${offsetS} SECOND` : 'UTC_TIMESTAMP(3)' }),
    end: () => pool.end(),
  };
}

/**
 * The embedded server's SQLite file, with the server's durability settings
 * (WAL, synchronous=FULL) and a 5 s busy timeout. Ids travel as decimal text
 * in the bench; they are bound as numbers, as the server binds them
 * (src/db/sqlite-pool.ts), so comparisons with integer columns hold.
 */
export function sqliteDb(file: string): BenchDb {
  const db: Database = new BetterSqlite(file, { fileMustExist: true, timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const bind = (params: unknown[]) => params.map((p) => (typeof p === 'string' && /^(0|[1-9]\d{0,14})$/.test(p) ? Number(p) : p));
  return {
    kind: 'sqlite',
    all: async (sql, params = []) => db.prepare(sql).all(...bind(params)) as never[],
    run: async (sql, params = []) => db.prepare(sql).run(...bind(params)).changes,
    async insertRows(table, columns, rows) {
      // Raw SQL values (the time) are the same for every row of a call: written into the statement once.
      let insert: ((values: Value[]) => void) | undefined;
      const prepare = (first: Value[]) => {
        const raw = first.map((v) => (v !== null && typeof v === 'object' ? v.sql : undefined));
        const stmt = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${raw.map((r) => r ?? '?').join(', ')})`);
        return (values: Value[]) => stmt.run(...values.filter((_, i) => raw[i] === undefined));
      };
      let n = 0;
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const values of rows) {
          insert ??= prepare(values);
          insert(values);
          if (++n % SQLITE_ROWS_PER_TRANSACTION === 0) {
            // Short transactions: a statement of the server waits for one of them at most.
            db.exec('COMMIT');
            db.exec('BEGIN IMMEDIATE');
          }
        }
        db.exec('COMMIT');
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    },
    now: (offsetS = 0) => ({ sql: String(Date.now() + offsetS * 1000) }),
    end: async () => {
      db.close();
    },
  };
}
