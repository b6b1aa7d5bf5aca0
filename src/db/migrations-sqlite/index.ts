import { Migration20261130000000_sqlite_init } from './Migration20261130000000_sqlite_init';

/**
 * Every migration of the embedded (SQLite) database in order; listed so
 * compiled code needs no file globbing. A schema change adds one here and
 * one beside it in ../migrations (MariaDB).
 */
export const sqliteMigrationsList = [{ name: 'Migration20261130000000_sqlite_init', class: Migration20261130000000_sqlite_init }];
