import type { Cursor, SyncTokenFields } from './rules';

/** The little the store needs from a SQL connection (MikroORM's Connection satisfies it). */
export interface Sql {
  execute(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run'): Promise<any>;
}

interface CursorRow {
  last_ack: string | bigint;
  last_ack_err: string | bigint | null;
  version: number;
}

const toCursor = (r: CursorRow): Cursor => ({
  lastAck: BigInt(r.last_ack),
  lastAckErr: r.last_ack_err === null ? null : BigInt(r.last_ack_err),
  version: Number(r.version),
});

/**
 * The per-device ack cursor in MariaDB. Each rule of src/delivery/rules/cursor.ts
 * is one conditional UPDATE, never read-modify-write (D8, D9, D7, D13). MariaDB
 * assigns SET columns left to right with new values visible to later ones, so
 * each expression reads only columns not yet assigned in the statement.
 */
export class CursorStore {
  private pending: Array<{ userId: string; deviceId: string; m: string; done: (e?: unknown) => void }> = [];
  private flushing = false;

  constructor(private readonly sql: () => Sql, private readonly maxBatch = 200) {}

  async get(userId: string, deviceId: string): Promise<Cursor> {
    const rows: CursorRow[] = await this.sql().execute(
      'SELECT last_ack, last_ack_err, version FROM device_cursor WHERE user_id = ? AND device_id = ?',
      [userId, deviceId],
    );
    if (rows.length) return toCursor(rows[0]);
    // A device that predates its cursor row starts fenced at the beginning: its sync returns everything.
    await this.sql().execute(
      'INSERT IGNORE INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, 0, 1, 1)',
      [userId, deviceId],
    );
    return this.get(userId, deviceId);
  }

  /** D8: a push that was not acknowledged in time (or could not be sent). */
  async failure(userId: string, deviceId: string, m: string): Promise<void> {
    await this.sql().execute(
      `UPDATE device_cursor SET
         last_ack = IF(? <= last_ack, ? - 1, last_ack),
         last_ack_err = IF(last_ack_err IS NULL OR ? < last_ack_err, ?, last_ack_err),
         version = version + 1
       WHERE user_id = ? AND device_id = ?`,
      [m, m, m, m, userId, deviceId],
      'run',
    );
  }

  /** D9: the device acknowledged the push of m. */
  async success(userId: string, deviceId: string, m: string): Promise<void> {
    await this.sql().execute(
      `UPDATE device_cursor SET last_ack = ?
       WHERE user_id = ? AND device_id = ? AND last_ack < ? AND (last_ack_err IS NULL OR ? < last_ack_err)`,
      [m, userId, deviceId, m, m],
      'run',
    );
  }

  /**
   * D9 for acknowledged pushes, many devices per statement: one multi-row
   * UPDATE applies success(m) to each (user, device) row atomically (the rule
   * is in the WHERE, evaluated under each row's lock), so concurrent pushes
   * share one commit. A device appears once per statement; a second id for the
   * same device waits for the next one (successes commute, so the order is free).
   */
  successLater(userId: string, deviceId: string, m: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ userId, deviceId, m, done: (e) => (e ? reject(e) : resolve()) });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch: typeof this.pending = [];
      const rest: typeof this.pending = [];
      const seen = new Set<string>();
      for (const p of this.pending) {
        const key = `${p.userId}|${p.deviceId}`;
        if (seen.has(key) || batch.length >= this.maxBatch) rest.push(p);
        else {
          seen.add(key);
          batch.push(p);
        }
      }
      this.pending = rest;
      try {
        await this.sql().execute(
          `UPDATE device_cursor c JOIN (${batch.map(() => 'SELECT ? AS u, ? AS d, CAST(? AS UNSIGNED) AS m').join(' UNION ALL ')}) v
             ON c.user_id = v.u AND c.device_id = v.d
           SET c.last_ack = v.m
           WHERE c.last_ack < v.m AND (c.last_ack_err IS NULL OR v.m < c.last_ack_err)`,
          batch.flatMap((p) => [p.userId, p.deviceId, p.m]),
          'run',
        );
        batch.forEach((p) => p.done());
      } catch (e) {
        batch.forEach((p) => p.done(e));
      }
    }
    this.flushing = false;
  }

  /** D7: a subscription attaches (before it is marked present), detaches, or its presence lapsed. */
  async fence(userId: string, deviceId: string): Promise<void> {
    await this.sql().execute(
      `INSERT INTO device_cursor (user_id, device_id, last_ack, last_ack_err, version) VALUES (?, ?, 0, 1, 1)
       ON DUPLICATE KEY UPDATE
         last_ack_err = IF(last_ack_err IS NULL OR last_ack + 1 < last_ack_err, last_ack + 1, last_ack_err),
         version = version + 1`,
      [userId, deviceId],
      'run',
    );
  }

  /**
   * D7's late-commit guard for devices that got no push of m (offline):
   * failure(m) where m <= lastAck, nothing elsewhere. Matches no row except
   * when lastAck moved past m before m committed.
   */
  async offline(m: string, target: { userIds: string[] } | { userId: string; exceptDevices: string[] }): Promise<void> {
    const set = `UPDATE device_cursor SET
         last_ack = ? - 1,
         last_ack_err = IF(last_ack_err IS NULL OR ? < last_ack_err, ?, last_ack_err),
         version = version + 1`;
    if ('userIds' in target) {
      if (!target.userIds.length) return;
      await this.sql().execute(
        `${set} WHERE user_id IN (${target.userIds.map(() => '?').join(',')}) AND last_ack >= ?`,
        [m, m, m, ...target.userIds, m],
        'run',
      );
      return;
    }
    const except = target.exceptDevices.length ? `AND device_id NOT IN (${target.exceptDevices.map(() => '?').join(',')})` : '';
    await this.sql().execute(
      `${set} WHERE user_id = ? ${except} AND last_ack >= ?`,
      [m, m, m, target.userId, ...target.exceptDevices, m],
      'run',
    );
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
      'run',
    );
    return res.affectedRows === 1;
  }
}
