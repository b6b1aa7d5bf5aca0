import type { Database, Statement } from 'better-sqlite3';
import { type Dialect, sqlite } from './dialect';
import type { Changed, Run, Sql, SqlConnection } from './sql';

/** How the embedded database's connection is lent out: MikroORM's pool of one (knex's client). */
export interface ConnectionLender {
  acquireConnection(): Promise<Database>;
  releaseConnection(conn: Database): Promise<unknown>;
}

/** Prepared statements kept per connection, by text (most statements here are a handful of shapes). */
const prepared = new WeakMap<Database, Map<string, Statement>>();
const MAX_PREPARED = 500;

function statement(db: Database, sql: string): Statement {
  let cache = prepared.get(db);
  if (!cache) prepared.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) {
    if (cache.size >= MAX_PREPARED) cache.delete(cache.keys().next().value!);
    s = db.prepare(sql);
    cache.set(sql, s);
  }
  return s;
}

/** Parameters as SQLite binds them, stored as MikroORM stores them: a Date as epoch milliseconds, a boolean as 0/1. */
export function sqliteParams(params: readonly unknown[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p instanceof Date || typeof p === 'boolean') {
      out ??= params.slice();
      out[i] = p instanceof Date ? p.getTime() : Number(p);
    } else if (typeof p === 'string' && CANONICAL_INT.test(p)) {
      // Ids travel as decimal text. SQLite orders any number before any text, so `? > expr` with
      // text would hold whatever the values; as integers they compare as MariaDB compares them.
      // Only canonical forms: '007' stays text, and a TEXT column stores 42 as '42' again.
      out ??= params.slice();
      out[i] = Number(p);
    }
  }
  return out ?? (params as unknown[]);
}

/** A decimal integer that a JS number holds exactly, written as String(n) would write it. */
export const CANONICAL_INT = /^(0|-?[1-9]\d{0,14})$/;

/** Runs one statement on a connection: its rows, or what it changed. */
export function runOn(db: Database, sql: string, params: readonly unknown[] = []): any {
  const s = statement(db, sql);
  const bound = sqliteParams(params);
  if (s.reader) return s.all(...bound);
  const r = s.run(...bound);
  return { affectedRows: r.changes, insertId: String(r.lastInsertRowid) } satisfies Changed;
}

/**
 * The hand-written SQL path on the embedded database. It borrows the ORM's
 * only connection (one connection is all SQLite can write through), so a
 * statement here waits while an ORM transaction holds it and the other way
 * round: the two never interleave inside a transaction. Each statement runs
 * synchronously once the connection is held.
 */
export class SqlitePool implements Sql {
  readonly dialect: Dialect = sqlite;
  private active = 0;
  private waiting = 0;

  constructor(private readonly lender: ConnectionLender) {}

  private async hold<T>(fn: (db: Database) => Promise<T> | T): Promise<T> {
    this.waiting++;
    let db: Database;
    try {
      db = await this.lender.acquireConnection();
    } finally {
      this.waiting--;
    }
    this.active++;
    try {
      return await fn(db);
    } finally {
      this.active--;
      await this.lender.releaseConnection(db);
    }
  }

  execute: Run = (sql, params = []) => this.hold((db) => runOn(db, sql, params));

  transaction<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    return this.hold(async (db) => {
      // IMMEDIATE: the write lock is taken at BEGIN, so a transaction that reads, then writes, never fails half way for a lock.
      runOn(db, 'BEGIN IMMEDIATE');
      try {
        const out = await fn(async (sql, params = []) => runOn(db, sql, params));
        runOn(db, 'COMMIT');
        return out;
      } catch (e) {
        if (db.inTransaction) runOn(db, 'ROLLBACK');
        throw e;
      }
    });
  }

  withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    return this.hold((db) => {
      const one = (sql: string, params: readonly unknown[] = []) => {
        // A statement list ends a transaction it began (as in MariaDB's packets); ROLLBACK with none open is a no-op there too.
        if (/^\s*ROLLBACK\s*$/i.test(sql) && !db.inTransaction) return { affectedRows: 0, insertId: '0' };
        return runOn(db, /^\s*START TRANSACTION\s*$/i.test(sql) ? 'BEGIN IMMEDIATE' : sql, params);
      };
      const conn: SqlConnection = {
        query: async (sql, params = []) => one(sql, params),
        queryMany: async (statements) => statements.map(([sql, params]) => one(sql, params)),
      };
      return fn(conn).finally(() => {
        // A connection goes back to the pool with no transaction open, whatever fn did.
        if (db.inTransaction) runOn(db, 'ROLLBACK');
      });
    });
  }

  stats() {
    return { active: this.active, idle: 1 - this.active, total: 1, waiting: this.waiting };
  }

  /** The ORM owns the connection and closes it. */
  async end(): Promise<void> {}
}
