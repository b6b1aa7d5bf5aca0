import { badInput } from '../errors';

const ID = /^[1-9]\d{0,19}$/;

/** Ids are decimal BIGINT strings; anything else is bad input, not a lookup. */
export function parseId(value: string, what: string): string {
  if (!ID.test(value)) throw badInput(`${what} must be a numeric id`);
  if (BigInt(value) > 18446744073709551615n) throw badInput(`${what} is out of the id range`);
  return value;
}

export const parseIds = (values: string[], what: string): string[] => [...new Set(values.map((v) => parseId(v, what)))];

/** A position among ids (a cursor, acknowledgeSync's upTo): an id, or "0" for before the first one. */
export function parseCursorId(value: string, what: string): string {
  return value === '0' ? value : parseId(value, what);
}
