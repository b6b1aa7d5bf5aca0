import { Migration } from '@mikro-orm/migrations';

/**
 * Every membership window survives. A member's row in conversation_member
 * keeps the latest window (open while a member, closed after leaving); when
 * a former member re-joins after messages were sent without her, the closed
 * window moves to membership_window before the row opens the new one, so
 * what she could once see stays visible. Windows carry the seq bounds next to
 * the id bounds: seqs are contiguous per conversation, so a window holds
 * exactly `visible_to_seq - visible_from_seq` messages, which is how unread
 * counts skip the gaps without reading a message. Existing rows take their
 * seq bounds from the message table (the last message at or below each id).
 */
export class Migration20261128100000_membership_windows extends Migration {
  override async up(): Promise<void> {
    const table = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    this.addSql(`ALTER TABLE conversation_member
      ADD COLUMN visible_from_seq INT UNSIGNED NOT NULL DEFAULT 0 AFTER visible_to,
      ADD COLUMN visible_to_seq INT UNSIGNED NULL AFTER visible_from_seq`);
    const seqAt = (col: string) =>
      `(SELECT m.seq FROM message m WHERE m.conversation_id = cm.conversation_id AND m.id <= cm.${col} ORDER BY m.id DESC LIMIT 1)`;
    this.addSql(`UPDATE conversation_member cm SET visible_from_seq = COALESCE(${seqAt('visible_from')}, 0) WHERE cm.visible_from > 0`);
    this.addSql(`UPDATE conversation_member cm SET visible_to_seq = COALESCE(${seqAt('visible_to')}, 0) WHERE cm.visible_to IS NOT NULL`);
    // Earlier, closed windows: (visible_from, visible_to] in ids, the same in seqs.
    // Keyed by user first: sync reads all of a user's windows in one range.
    this.addSql(`CREATE TABLE membership_window (
      user_id BIGINT UNSIGNED NOT NULL,
      conversation_id BIGINT UNSIGNED NOT NULL,
      visible_from BIGINT UNSIGNED NOT NULL,
      visible_to BIGINT UNSIGNED NOT NULL,
      visible_from_seq INT UNSIGNED NOT NULL,
      visible_to_seq INT UNSIGNED NOT NULL,
      PRIMARY KEY (user_id, conversation_id, visible_from)) ${table}`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS membership_window');
    this.addSql('ALTER TABLE conversation_member DROP COLUMN visible_to_seq, DROP COLUMN visible_from_seq');
  }
}
