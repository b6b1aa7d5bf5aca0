import { createPool, type Pool, type PoolConnection } from 'mariadb';
import type { MariaDbConfig } from '../config';
import { type Dialect, mariadb } from './dialect';
import type { Run, Sql, SqlConnection } from './sql';
import { utcParams } from './sql-time';

export type { Run, SqlConnection } from './sql';

/**
 * A plain mariadb pool for the delivery hot path (send, cursors, sync reads):
 * no ORM or query builder per statement. The ORM keeps the rest. BIGINTs
 * come back as bigint and are turned into strings by the readers
 * (toMessageRow, the cursor store). Times are UTC both ways (see sql-time):
 * Date parameters are sent as UTC text and DATETIMEs come back as text that
 * the readers take as UTC, so neither the process's nor the server's zone counts.
 */
export class SqlPool implements Sql {
  readonly dialect: Dialect = mariadb;
  private readonly pool: Pool;

  constructor(db: MariaDbConfig, size = 20) {
    this.pool = createPool({
      host: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database: db.name,
      connectionLimit: size,
      // The session's time_zone (NOW(), TIMESTAMP columns) is UTC whatever the server's global one.
      timezone: 'Z',
      dateStrings: true,
      insertIdAsNumber: false,
      bigIntAsNumber: false,
      // While MariaDB is down, say so soon (UNAVAILABLE, and the client repeats the
      // same clientMsgId) rather than hold every request for long.
      acquireTimeout: 1000,
      connectTimeout: 3000,
      // The message writer sends a whole transaction in two packets (see MessageWriter).
      // Every statement here takes its values as placeholders, never as spliced text.
      multipleStatements: true,
    });
  }

  /** The Sql shape the delivery library takes. */
  execute = (sql: string, params: unknown[] = []): Promise<any> => this.pool.query(sql, utcParams(params));

  async transaction<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    const conn: PoolConnection = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const out = await fn((sql, params = []) => conn.query(sql, utcParams(params)));
      await conn.commit();
      return out;
    } catch (e) {
      await conn.rollback().catch(() => undefined);
      throw e;
    } finally {
      await conn.release();
    }
  }

  /** One pooled connection for the caller's statements, released afterwards. */
  async withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      const query: Run = (sql, params = []) => conn.query(sql, utcParams(params));
      return await fn({
        query,
        // One packet: the results come back as one array, one entry per statement.
        queryMany: async (statements) => {
          const res = await query(statements.map(([sql]) => sql).join(';\n'), statements.flatMap(([, p]) => p));
          return statements.length === 1 ? [res] : (res as unknown[]);
        },
      });
    } finally {
      await conn.release();
    }
  }

  /** The pool now (metrics): connections in use, idle and open, and requests waiting for one. */
  stats(): { active: number; idle: number; total: number; waiting: number } {
    const p = this.pool;
    return { active: p.activeConnections(), idle: p.idleConnections(), total: p.totalConnections(), waiting: p.taskQueueSize() };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
