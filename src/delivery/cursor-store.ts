import type { Dialect } from '../db/dialect';
import { affectedRows } from '../db/sql';
import { flatParams, marks, unionRows } from '../db/sql-text';
import { Batcher } from './batcher';
import { type DeliveryMetrics, noDeliveryMetrics } from './metrics';
import { type Cursor, mergeGuards, mergeSuccesses, type SyncTokenFields } from './rules';

/** The little the store needs from a SQL connection: statements, and the dialect they are written in (src/db/sql.ts fits). */
export interface Sql {
  readonly dialect: Dialect;
  execute(sql: string, params?: unknown[]): Promise<any>;
}

export interface CursorRow {
  last_ack: string | bigint | number;
  last_ack_err: string | bigint | number | null;
  version: number;
}

/** The cursor of a device_cursor row as SQL returns it. */
export const toCursor = (r: CursorRow): Cursor => ({
  lastAck: BigInt(r.last_ack),
  lastAckErr: r.last_ack_err === null ? null : BigInt(r.last_ack_err),
  version: Number(r.version),
});



/**
 * The per-device ack cursor, in either dialect (the statements differ only
 * where src/db/dialect.ts says). Each rule of src/delivery/rules/cursor.ts
 * is one conditional UPDATE, never read-modify-write (D8, D9, D7, D13). MariaDB
 * assigns SET columns left to right with new values visible to later ones, so
 * each expression reads only columns not yet assigned in the statement.
 */
export class CursorStore {
  private readonly successes: Batcher;
  private readonly guards: Batcher;

  /**
   * successWindowMs: how long acknowledged pushes wait to share a statement.
   * Nothing waits on them but the end of their job (the device already holds
   * the message), and a later lastAck only means a longer sync after a crash;
   * without the wait nearly every acknowledge was a statement and a commit.
   * guardWindowMs: the same for late-commit guards, which only the end of
   * their job waits for (its pushes run beside them); shorter, as the job
   * holds a worker slot until then.
   */
  constructor(
    private readonly sql: () => Sql,
    metrics: Pick<DeliveryMetrics, 'cursorBatch'> = noDeliveryMetrics,
    maxBatch = 200,
    successWindowMs = 20,
    guardWindowMs = 5,
  ) {
    // D9 for many devices per statement: the rule is in the WHERE, evaluated under each row's lock.
    // The listed rows drive the join (STRAIGHT_JOIN), so each cursor is found by its key, never scanned.
    this.successes = new Batcher(maxBatch, (n, params) => {
      const sql = this.sql();
      return sql.execute(
        sql.dialect.updateFrom(
          'device_cursor',
          unionRows(n, '? AS u, ? AS d, CAST(? AS UNSIGNED) AS m'),
          [['last_ack', 'v.m']],
          't.user_id = v.u AND t.device_id = v.d AND t.last_ack < v.m AND (t.last_ack_err IS NULL OR v.m < t.last_ack_err)',
        ),
        params,
      );
    },
      mergeSuccessRows,
      successWindowMs,
      (rows) => metrics.cursorBatch('success', rows),
    );
    // D7's late-commit guard for many users per statement (see offline()). Guards of one
    // user waiting together become one: failure(min m) does what each failure(m) would
    // (D8: the smallest m sets both columns), and a device is spared only if every guard
    // spared it (guarding a device that got the push is conservative: it re-syncs).
    this.guards = new Batcher(maxBatch, (n, params) => this.applyGuards(n, params), mergeGuardRows, guardWindowMs, (rows) =>
      metrics.cursorBatch('guard', rows),
    );
  }

  /**
   * Guard rows [user, m, exceptDevices]. Almost always no device has
   * lastAck >= m, so a plain read (no locks, no undo) looks first, and only
   * the rows it finds are updated, by the rule itself. The read is where the
   * guards that matched nothing took effect: each guard is one user's, and
   * could equally have run then.
   */
  private async applyGuards(n: number, params: unknown[]): Promise<void> {
    const guards = Array.from({ length: n }, (_, i) => ({ u: String(params[3 * i]), m: BigInt(String(params[3 * i + 1])), ex: String(params[3 * i + 2]) }));
    const found: Array<{ user_id: unknown; device_id: unknown; last_ack: unknown }> = await this.sql().execute(
      `SELECT user_id, device_id, last_ack FROM device_cursor WHERE user_id IN (${marks(guards.length)})`,
      guards.map((g) => g.u),
    );
    const byUser = new Map(guards.map((g) => [g.u, g]));
    const hit = new Set<string>();
    for (const r of found) {
      const g = byUser.get(String(r.user_id));
      if (g && BigInt(String(r.last_ack)) >= g.m && !g.ex.split(',').includes(String(r.device_id))) hit.add(g.u);
    }
    if (!hit.size) return;
    const apply = guards.filter((g) => hit.has(g.u));
    const sql = this.sql();
    await sql.execute(
      sql.dialect.updateFrom(
        'device_cursor',
        unionRows(apply.length, '? AS u, CAST(? AS UNSIGNED) AS m, ? AS ex'),
        [
          ['last_ack', 'v.m - 1'],
          ['last_ack_err', 'CASE WHEN t.last_ack_err IS NULL OR v.m < t.last_ack_err THEN v.m ELSE t.last_ack_err END'],
          ['version', 't.version + 1'],
        ],
        `t.user_id = v.u AND t.last_ack >= v.m AND ${sql.dialect.notInList('t.device_id', 'v.ex')}`,
      ),
      flatParams(apply, (g) => [g.u, g.m.toString(), g.ex]),
    );
  }

  async get(userId: string, deviceId: string): Promise<Cursor> {
    const found: CursorRow[] = await this.sql().execute(
      'SELECT last_ack, last_ack_err, version FROM device_cursor WHERE user_id = ? AND device_id = ?',
      [userId, deviceId],
    );
    if (found.length) return toCursor(found[0]);
    // A device that predates its cursor row starts fenced at the beginning: its sync returns everything.
    const sql = this.sql();
    await sql.execute(`${sql.dialect.insertIgnore} INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, 0, 1, 1)`, [
      userId,
      deviceId,
    ]);
    return this.get(userId, deviceId);
  }

  /** D8: a push that was not acknowledged in time (or could not be sent). */
  async failure(userId: string, deviceId: string, m: string): Promise<void> {
    await this.sql().execute(
      `UPDATE device_cursor SET
         last_ack = CASE WHEN ? <= last_ack THEN ? - 1 ELSE last_ack END,
         last_ack_err = CASE WHEN last_ack_err IS NULL OR ? < last_ack_err THEN ? ELSE last_ack_err END,
         version = version + 1
       WHERE user_id = ? AND device_id = ?`,
      [m, m, m, m, userId, deviceId],
    );
  }

  /** D9: the device acknowledged the push of m. */
  async success(userId: string, deviceId: string, m: string): Promise<void> {
    await this.sql().execute(
      `UPDATE device_cursor SET last_ack = ?
       WHERE user_id = ? AND device_id = ? AND last_ack < ? AND (last_ack_err IS NULL OR ? < last_ack_err)`,
      [m, userId, deviceId, m, m],
    );
  }

  /**
   * D9 batched: concurrent acknowledged pushes share one statement and one
   * commit. A device appears once per statement: its successes that wait
   * together become one row (rules/cursor.ts mergeSuccesses).
   */
  successLater(userId: string, deviceId: string, m: string): Promise<void> {
    return this.successes.add([{ key: `${userId}|${deviceId}`, params: [userId, deviceId, m] }]);
  }

  /** D7: a subscription attaches (before it is marked present), detaches, or its presence lapsed. */
  async fence(userId: string, deviceId: string): Promise<void> {
    const sql = this.sql();
    await sql.execute(
      sql.dialect.upsert(
        'INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, 0, 1, 1)',
        ['user_id', 'device_id'],
        [
          ['last_ack_err', 'CASE WHEN last_ack_err IS NULL OR last_ack + 1 < last_ack_err THEN last_ack + 1 ELSE last_ack_err END'],
          ['version', 'version + 1'],
        ],
      ),
      [userId, deviceId],
    );
  }

  /**
   * D7's late-commit guard for devices that got no push of m (offline):
   * failure(m) where m <= lastAck, nothing elsewhere. Matches no row except
   * when lastAck moved past m before m committed. Guards of concurrent jobs
   * share a statement; a user appears once per statement, because a
   * multi-table UPDATE changes a row at most once.
   */
  offline(m: string, target: { userIds: string[] } | { userId: string; exceptDevices: string[] }): Promise<void> {
    const entries =
      'userIds' in target ? target.userIds.map((u) => ({ u, ex: '' })) : [{ u: target.userId, ex: target.exceptDevices.join(',') }];
    return this.guards.add(entries.map((e) => ({ key: e.u, params: [e.u, m, e.ex] })));
  }

  /**
   * D13 as one statement: applies only while the cursor's version is the
   * token's and lastAck has not passed u. Returns whether it applied.
   */
  async syncAck(token: SyncTokenFields, u: bigint): Promise<boolean> {
    const complete = !token.hasMore && u === token.maxId;
    const res = await this.sql().execute(
      `UPDATE device_cursor SET last_ack_err = ?, last_ack = ?
       WHERE user_id = ? AND device_id = ? AND version = ? AND last_ack <= ?`,
      [complete ? null : (u + 1n).toString(), u.toString(), token.userId, token.deviceId, token.version, u.toString()],
    );
    return affectedRows(res) === 1;
  }
}

/** Two success rows [user, device, m] of one device as one row (rules/cursor.ts mergeSuccesses). */
function mergeSuccessRows(a: unknown[], b: unknown[]): unknown[] {
  return [a[0], a[1], mergeSuccesses(BigInt(String(a[2])), BigInt(String(b[2]))).toString()];
}

/** Two guard rows [user, m, exceptDevices] of one user as one row (rules/cursor.ts mergeGuards). */
function mergeGuardRows(a: unknown[], b: unknown[]): unknown[] {
  const guard = (p: unknown[]) => ({ m: BigInt(String(p[1])), spared: String(p[2]).split(',').filter(Boolean) });
  const g = mergeGuards(guard(a), guard(b));
  return [a[0], g.m.toString(), g.spared.join(',')];
}
