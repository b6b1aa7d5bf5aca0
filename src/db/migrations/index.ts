import { Migration20261126000000_init } from './Migration20261126000000_init';
import { Migration20261127000000_message_by_conversation } from './Migration20261127000000_message_by_conversation';
import { Migration20261128100000_membership_windows } from './Migration20261128100000_membership_windows';

/** Every migration in order; listed here so compiled code needs no file globbing. */
export const migrationsList = [
  { name: 'Migration20261126000000_init', class: Migration20261126000000_init },
  { name: 'Migration20261127000000_message_by_conversation', class: Migration20261127000000_message_by_conversation },
  { name: 'Migration20261128100000_membership_windows', class: Migration20261128100000_membership_windows },
];
