// Text for statements with a variable number of values; the values always
// travel as placeholders.

/** "?, ?, ?" for an IN list of n values. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** n copies of one row, `SELECT ? AS a, ? AS b`, as a derived table's UNION ALL. */
export const unionRows = (n: number, columns: string): string => Array.from({ length: n }, () => `SELECT ${columns}`).join(' UNION ALL ');
