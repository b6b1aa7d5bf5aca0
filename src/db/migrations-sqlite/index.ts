/** Every migration of the embedded (SQLite) database in order; listed so compiled code needs no file globbing. */
export const sqliteMigrationsList: Array<{ name: string; class: new (...args: any[]) => any }> = [];
