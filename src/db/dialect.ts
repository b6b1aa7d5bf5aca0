import { BaseSqlitePlatform } from '@mikro-orm/knex';

/**
 * Where the two SQL dialects differ, and nothing else: every statement is
 * written once, and these pieces fill the places MariaDB and SQLite spell
 * differently. SQLite has GREATEST and LEAST as functions registered on its
 * connection (see sqlite-pool.ts), so those need no entry here.
 */
export interface Dialect {
  readonly name: 'mariadb' | 'sqlite';
  /**
   * Appended to a SELECT that locks its rows until COMMIT. SQLite needs none:
   * its write transaction (BEGIN IMMEDIATE) already excludes every other writer.
   */
  readonly forUpdate: string;
  /** The same for a shared lock (LOCK IN SHARE MODE). */
  readonly forShare: string;
  /** `INSERT IGNORE` / `INSERT OR IGNORE`: a duplicate key skips the row. */
  readonly insertIgnore: string;
  /**
   * An UPDATE of `target` (alias `t`) joined to the derived table `values`
   * (alias `v`): `set` holds [column, expression] pairs (expressions may read
   * `t.` and `v.` columns), `where` joins and filters.
   * MariaDB: `UPDATE (values) v STRAIGHT_JOIN target t ON … SET t.c = …`;
   * SQLite:  `UPDATE target AS t SET c = … FROM (values) AS v WHERE …`.
   * Each expression must read only columns the statement does not assign
   * before it: MariaDB assigns left to right, SQLite from the old row.
   */
  updateFrom(target: string, values: string, set: ReadonlyArray<readonly [string, string]>, where: string): string;
  /**
   * `insert` (an INSERT … VALUES …) that updates the existing row on a
   * duplicate of `conflict` (the unique key's columns). In `set`
   * expressions, `NEW(col)` is the value the INSERT proposed and a plain
   * column is the stored one.
   */
  upsert(insert: string, conflict: readonly string[], set: ReadonlyArray<readonly [string, string]>): string;
  /** True when `item` is not one of the comma-separated `list` (MariaDB's FIND_IN_SET). */
  notInList(item: string, list: string): string;
  /**
   * A SELECT with its own ORDER BY … LIMIT as one member of a UNION ALL:
   * parenthesised in MariaDB; SQLite allows neither the parentheses nor a
   * LIMIT there, so the member reads from it as a subquery.
   */
  unionMember(select: string): string;
}

/** The dialect of an EntityManager's database (for statements run through the ORM's connection). */
export const dialectOf = (em: { getPlatform(): unknown }): Dialect => (em.getPlatform() instanceof BaseSqlitePlatform ? sqlite : mariadb);

const NEW = /\bNEW\(([a-z_]+)\)/g;

export const mariadb: Dialect = {
  name: 'mariadb',
  forUpdate: ' FOR UPDATE',
  forShare: ' LOCK IN SHARE MODE',
  insertIgnore: 'INSERT IGNORE',
  updateFrom: (target, values, set, where) =>
    `UPDATE (${values}) v STRAIGHT_JOIN ${target} t ON ${where} SET ${set.map(([c, e]) => `t.${c} = ${e}`).join(', ')}`,
  upsert: (insert, _conflict, set) =>
    `${insert} ON DUPLICATE KEY UPDATE ${set.map(([c, e]) => `${c} = ${e.replace(NEW, 'VALUES($1)')}`).join(', ')}`,
  notInList: (item, list) => `FIND_IN_SET(${item}, ${list}) = 0`,
  unionMember: (select) => `(${select})`,
};

export const sqlite: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  forShare: '',
  insertIgnore: 'INSERT OR IGNORE',
  updateFrom: (target, values, set, where) =>
    `UPDATE ${target} AS t SET ${set.map(([c, e]) => `${c} = ${e}`).join(', ')} FROM (${values}) AS v WHERE ${where}`,
  upsert: (insert, conflict, set) =>
    `${insert} ON CONFLICT (${conflict.join(', ')}) DO UPDATE SET ${set.map(([c, e]) => `${c} = ${e.replace(NEW, 'excluded.$1')}`).join(', ')}`,
  notInList: (item, list) => `instr(',' || ${list} || ',', ',' || ${item} || ',') = 0`,
  unionMember: (select) => `SELECT * FROM (${select})`,
};
