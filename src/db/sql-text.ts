// Text for statements with a variable number of values; the values always
// travel as placeholders.

/** "?, ?, ?" for an IN list of n values. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** n copies of one row, `SELECT ? AS a, ? AS b`, as a derived table's UNION ALL. */
export const unionRows = (n: number, columns: string): string => Array.from({ length: n }, () => `SELECT ${columns}`).join(' UNION ALL ');

/**
 * The statement's parameters, row after row: `rows.flatMap(pick)` without
 * flatMap, which V8 runs on a slow generic path (it was 3 % of the server's
 * CPU building the send batch's parameters).
 */
export function flatParams<T>(rows: readonly T[], pick: (row: T, i: number) => readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < rows.length; i++) {
    const values = pick(rows[i], i);
    for (let j = 0; j < values.length; j++) out.push(values[j]);
  }
  return out;
}
