import { badInput } from '../errors';

const DECIMAL = /^[1-9]\d*$/;
/** The largest id: the tables' ids are signed BIGINT (MariaDB) and INTEGER (SQLite), both 2^63-1 at most. */
const MAX_ID = 9223372036854775807n;

/**
 * Ids are decimal strings of 1 to 2^63-1; anything else is bad input
 * (BAD_USER_INPUT), not a lookup: "must be a numeric id" for what is not a
 * decimal without a leading zero, "out of the id range" for a larger number.
 */
export function parseId(value: string, what: string): string {
  if (!DECIMAL.test(value)) throw badInput(`${what} must be a numeric id`);
  if (value.length > 19 || BigInt(value) > MAX_ID) throw badInput(`${what} is out of the id range`);
  return value;
}

export const parseIds = (values: string[], what: string): string[] => [...new Set(values.map((v) => parseId(v, what)))];

/** A position among ids (a cursor, acknowledgeSync's upTo): an id, or "0" for before the first one. */
export function parseCursorId(value: string, what: string): string {
  return value === '0' ? value : parseId(value, what);
}
