import { raw } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import type { Dialect } from '../db/dialect';
import { flatParams, marks, unionRows } from '../db/sql-text';
import { DeviceCursor } from '../entities/device-cursor.entity';
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

/** Where one device's cursor row is. */
const key = (userId: string, deviceId: string) => ({ userId, deviceId });

/** A new row: fenced at the beginning (lastAckErr 1), so the device's sync returns everything (D7). */
const fencedRow = (userId: string, deviceId: string) => ({ userId, deviceId, lastAck: 0n, lastAckErr: 1n, version: 1 });

/**
 * The per-device ack cursor (entity DeviceCursor, table device_cursor).
 * Each rule of src/delivery/rules/cursor.ts is one conditional statement,
 * never read-modify-write (D8, D9, D7, D13). MariaDB assigns SET columns
 * left to right with new values visible to later ones, SQLite from the old
 * row, so each expression reads only columns not yet assigned in the
 * statement and both give the same row.
 *
 * The single-row rules (get, failure, success, fence, syncAck) go through
 * MikroORM (`nativeUpdate`, the query builder's insert with `onConflict`),
 * one version for both dialects. The two batched statements (successes and
 * guards, with the guards' plain read before them) stay hand-written: they
 * are the delivery hot path (bench/README.md, "Cursor statements": one
 * statement per 20 ms of acknowledges, a group's 160 offline members per
 * guard), and each is an UPDATE joined to a derived table of listed rows,
 * which the query builder cannot write (Dialect.updateFrom).
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
    /** A fresh EntityManager (a fork) for the single-row rules; MikroORM's connection, either dialect. */
    private readonly em: () => EntityManager,
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

  /** The device's cursor; a device that predates its cursor row gets one, fenced at the beginning (its sync returns everything). */
  async get(userId: string, deviceId: string): Promise<Cursor> {
    const found = await this.em().findOne(DeviceCursor, key(userId, deviceId));
    if (found) return { lastAck: found.lastAck, lastAckErr: found.lastAckErr, version: found.version };
    // INSERT IGNORE (MariaDB) / ON CONFLICT DO NOTHING (SQLite): a concurrent get may have made it.
    await this.em().createQueryBuilder(DeviceCursor).insert(fencedRow(userId, deviceId)).onConflict(['userId', 'deviceId']).ignore().execute('run');
    return this.get(userId, deviceId);
  }

  /** D8: a push that was not acknowledged in time (or could not be sent). */
  async failure(userId: string, deviceId: string, m: string): Promise<void> {
    await this.em().nativeUpdate(DeviceCursor, key(userId, deviceId), {
      lastAck: raw('CASE WHEN ? <= last_ack THEN ? - 1 ELSE last_ack END', [m, m]),
      lastAckErr: raw('CASE WHEN last_ack_err IS NULL OR ? < last_ack_err THEN ? ELSE last_ack_err END', [m, m]),
      version: raw('version + 1'),
    });
  }

  /** D9: the device acknowledged the push of m. */
  async success(userId: string, deviceId: string, m: string): Promise<void> {
    const id = BigInt(m);
    await this.em().nativeUpdate(
      DeviceCursor,
      { ...key(userId, deviceId), lastAck: { $lt: id }, $or: [{ lastAckErr: null }, { lastAckErr: { $gt: id } }] },
      { lastAck: id },
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

  /**
   * D7: a subscription attaches (before it is marked present), detaches, or
   * its presence lapsed. A new row is fenced at the beginning; an existing
   * one gets lastAckErr = min(lastAckErr, lastAck + 1) and a version bump
   * (ON DUPLICATE KEY UPDATE / ON CONFLICT DO UPDATE, where a plain column
   * is the stored row's).
   */
  async fence(userId: string, deviceId: string): Promise<void> {
    await this.em()
      .createQueryBuilder(DeviceCursor)
      .insert(fencedRow(userId, deviceId))
      .onConflict(['userId', 'deviceId'])
      .merge({
        lastAckErr: raw('CASE WHEN last_ack_err IS NULL OR last_ack + 1 < last_ack_err THEN last_ack + 1 ELSE last_ack_err END'),
        version: raw('version + 1'),
      })
      .execute('run');
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
    const changed = await this.em().nativeUpdate(
      DeviceCursor,
      { ...key(token.userId, token.deviceId), version: token.version, lastAck: { $lte: u } },
      { lastAckErr: complete ? null : u + 1n, lastAck: u },
    );
    return changed === 1;
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
