import { Migration20261126000000_init } from './Migration20261126000000_init';
import { Migration20261127000000_message_by_conversation } from './Migration20261127000000_message_by_conversation';
import { Migration20261201000000_exact_keys } from './Migration20261201000000_exact_keys';

/** Every migration in order; listed here so compiled code needs no file globbing. */
export const migrationsList = [
  { name: 'Migration20261126000000_init', class: Migration20261126000000_init },
  { name: 'Migration20261127000000_message_by_conversation', class: Migration20261127000000_message_by_conversation },
  { name: 'Migration20261201000000_exact_keys', class: Migration20261201000000_exact_keys },
];
