// Every DATETIME column holds UTC, whatever the zone of the Node process or of
// the MariaDB server. The mariadb driver turns a Date parameter into text with
// the process's local getters and reads a DATETIME back with the local Date
// constructor, so with TZ=Asia/Kolkata a plain Date would be stored 5 h 30 ahead.
// Dates therefore cross the driver as UTC text, both ways, through these two.

/** A Date as DATETIME(3) text in UTC, `YYYY-MM-DD HH:MM:SS.mmm`, for a statement parameter. */
export const toSqlDateTime = (d: Date): string => {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
};

/**
 * A DATETIME as the UTC instant it stores: MariaDB's text (`dateStrings`,
 * the setting of both the pool and the ORM's connection), or SQLite's epoch
 * milliseconds (how MikroORM stores a Date there). A Date is returned as is.
 */
export const fromSqlDateTime = (v: unknown): Date => {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  return new Date(`${String(v).replace(' ', 'T')}Z`);
};

/**
 * The statement's parameters with every Date as UTC text; the same array when
 * it holds no Date (the common case costs one pass and no copy).
 */
export function utcParams(params: readonly unknown[]): unknown[] {
  let out: unknown[] | undefined;
  let last: Date | undefined;
  let lastText = '';
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (!(p instanceof Date)) continue;
    out ??= params.slice();
    // A send batch repeats one `now` on every row.
    if (p !== last) {
      last = p;
      lastText = toSqlDateTime(p);
    }
    out[i] = lastText;
  }
  return out ?? (params as unknown[]);
}
