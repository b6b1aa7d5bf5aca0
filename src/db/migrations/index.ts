import { Migration20261126000000_init } from './Migration20261126000000_init';

/** Every migration in order; listed here so compiled code needs no file globbing. */
export const migrationsList = [
  { name: 'Migration20261126000000_init', class: Migration20261126000000_init },
];
