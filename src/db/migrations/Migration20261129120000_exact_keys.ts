import { Migration } from '@mikro-orm/migrations';

/**
 * Text keys compare byte for byte. Under the tables' utf8mb4_unicode_ci a
 * unique key was decided by the collation, not by the code: 'abc' and 'ABC'
 * were one clientMsgId (a client's second message got the first one's
 * receipt), 'Phone' and 'phone' one device cursor (one device's acks moved
 * the other's), 'bob', 'böb' and 'BOB ' one account key, and every emoji the
 * same character. utf8mb4_nopad_bin compares the bytes and keeps trailing
 * spaces significant (utf8mb4_bin pads, so 'a ' = 'a' there).
 *
 * account_key is accountKey(account) (src/services/text.ts), lower case after
 * NFC; lower-casing can lengthen it ('İ' is two code points), hence 128.
 * A binary collation only splits what the old one joined, so no stored key
 * becomes a duplicate.
 */
export class Migration20261129120000_exact_keys extends Migration {
  override async up(): Promise<void> {
    const exact = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL';
    this.addSql(`ALTER TABLE user MODIFY account_key VARCHAR(128) ${exact}`);
    this.addSql(`ALTER TABLE message MODIFY client_msg_id VARCHAR(64) ${exact}`);
    this.addSql(`ALTER TABLE device_cursor MODIFY device_id VARCHAR(64) ${exact}`);
    this.addSql(`ALTER TABLE session MODIFY device_id VARCHAR(64) ${exact}`);
  }

  override async down(): Promise<void> {
    const ci = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL';
    this.addSql(`ALTER TABLE session MODIFY device_id VARCHAR(64) ${ci}`);
    this.addSql(`ALTER TABLE device_cursor MODIFY device_id VARCHAR(64) ${ci}`);
    this.addSql(`ALTER TABLE message MODIFY client_msg_id VARCHAR(64) ${ci}`);
    this.addSql(`ALTER TABLE user MODIFY account_key VARCHAR(64) ${ci}`);
  }
}
