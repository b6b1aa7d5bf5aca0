import { Migration20261126000000_init } from './Migration20261126000000_init';
import { Migration20261127000000_message_by_conversation } from './Migration20261127000000_message_by_conversation';
import { Migration20261128100000_membership_windows } from './Migration20261128100000_membership_windows';
import { Migration20261128120000_deleted_accounts_friends } from './Migration20261128120000_deleted_accounts_friends';
import { Migration20261129100000_session_rotation } from './Migration20261129100000_session_rotation';
import { Migration20261129120000_exact_keys } from './Migration20261129120000_exact_keys';
import { Migration20261129130000_window_by_conversation } from './Migration20261129130000_window_by_conversation';

/** Every migration in order; listed here so compiled code needs no file globbing. */
export const migrationsList = [
  { name: 'Migration20261126000000_init', class: Migration20261126000000_init },
  { name: 'Migration20261127000000_message_by_conversation', class: Migration20261127000000_message_by_conversation },
  { name: 'Migration20261128100000_membership_windows', class: Migration20261128100000_membership_windows },
  { name: 'Migration20261128120000_deleted_accounts_friends', class: Migration20261128120000_deleted_accounts_friends },
  { name: 'Migration20261129100000_session_rotation', class: Migration20261129100000_session_rotation },
  { name: 'Migration20261129120000_exact_keys', class: Migration20261129120000_exact_keys },
  { name: 'Migration20261129130000_window_by_conversation', class: Migration20261129130000_window_by_conversation },
];
