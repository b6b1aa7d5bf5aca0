import { Migration } from '@mikro-orm/migrations';

/**
 * Refresh rotation with a reuse interval: the session keeps the hash of the
 * secret its last rotation replaced, and when that rotation happened.
 */
export class Migration20261129100000_session_rotation extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE session ADD COLUMN prev_refresh_hash VARCHAR(64) NULL AFTER refresh_hash, ADD COLUMN rotated_at DATETIME(3) NULL AFTER prev_refresh_hash');
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE session DROP COLUMN prev_refresh_hash, DROP COLUMN rotated_at');
  }
}
