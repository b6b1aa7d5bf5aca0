import { Migration } from '@mikro-orm/migrations';

const deleted = 'SELECT id FROM user WHERE deleted_at IS NOT NULL';

/**
 * The statements of the migration below, exported for its test. FRIEND_REQUEST
 * is type 1; a request is open while INITIAL, RECEIVED or READ (1, 2, 3).
 */
export const deletedAccountsFriendsSql = [
  `DELETE FROM friend_setting WHERE user_id IN (${deleted}) OR peer_id IN (${deleted})`,
  `DELETE FROM friendship WHERE user_lo IN (${deleted}) OR user_hi IN (${deleted})`,
  `DELETE FROM notification WHERE type = 1 AND status IN (1, 2, 3) AND (sender_id IN (${deleted}) OR receiver_id IN (${deleted}))`,
];

/**
 * Accounts deleted before deleteUser ended their relations kept their
 * friendships (so a friend could still message them) and their open friend
 * requests. This ends those as UserService.delete now does, without the
 * FRIEND_REMOVED notices (friends lists never showed deleted accounts).
 * Their group memberships are not touched: leaving a group hands ownership
 * over, which is GroupService.leave's rule and has no copy in SQL.
 */
export class Migration20261128120000_deleted_accounts_friends extends Migration {
  override async up(): Promise<void> {
    for (const sql of deletedAccountsFriendsSql) this.addSql(sql);
  }

  override async down(): Promise<void> {
    // The removed rows are gone for good; nothing to restore.
  }
}
