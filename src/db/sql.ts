import type { Dialect } from './dialect';

/** One statement run by `Run`: its rows (a SELECT, or RETURNING) or what it changed. */
export type Run = (sql: string, params?: unknown[]) => Promise<any>;

/** What a statement that returns no rows answers, in both dialects. */
export interface Changed {
  affectedRows: number;
  /** The id the last INSERT took, as text (MariaDB's LAST_INSERT_ID(), SQLite's last_insert_rowid()). */
  insertId: string;
}

/** What a caller of `withConnection` may do with one connection. */
export interface SqlConnection {
  query: Run;
  /**
   * Several statements in one round trip where the dialect has it (MariaDB's
   * multi-statement packet), one after another otherwise; one result per
   * statement. The first failure ends the run and is thrown.
   */
  queryMany(statements: ReadonlyArray<readonly [string, unknown[]]>): Promise<unknown[]>;
}

/**
 * The hand-written SQL path (sends, cursors, sync reads), beside the ORM:
 * `SqlPool` over MariaDB, `SqlitePool` over the embedded database. Both take
 * Dates as parameters and store them as the ORM does for their dialect; ids
 * come back as bigint, number or text, and the readers turn them into text.
 */
export interface Sql {
  readonly dialect: Dialect;
  /** Rows for a statement that returns rows, `Changed` for one that does not. */
  execute: Run;
  /** BEGIN, `fn`, COMMIT; ROLLBACK if `fn` throws. */
  transaction<T>(fn: (run: Run) => Promise<T>): Promise<T>;
  withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T>;
  /** Connections in use, idle and open, and requests waiting for one (metrics). */
  stats(): { active: number; idle: number; total: number; waiting: number };
  end(): Promise<void>;
}

/** The number of rows a statement changed, from either dialect's answer. */
export const affectedRows = (r: unknown): number => {
  const o = r as { affectedRows?: number | bigint; changes?: number | bigint } | undefined;
  return Number(o?.affectedRows ?? o?.changes ?? 0);
};

/**
 * Whether a statement failed on a unique key: MariaDB's ER_DUP_ENTRY (1062),
 * SQLite's SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY, also as MikroORM wraps them.
 */
export const isDuplicateKey = (e: unknown): boolean =>
  /ER_DUP_ENTRY|Duplicate entry|SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)|UNIQUE constraint failed/.test(
    `${(e as { code?: string })?.code ?? ''} ${String((e as { message?: string })?.message ?? e)}`,
  );
