import { Migration } from '@mikro-orm/migrations';

/**
 * Earlier membership windows by conversation: a group message's fan-out asks
 * which members' windows hold it (the audience), and a member who left after
 * the message and re-joined before its fan-out has that window here.
 */
export class Migration20261129130000_window_by_conversation extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE membership_window ADD KEY ix_window_conversation (conversation_id, visible_to)');
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE membership_window DROP KEY ix_window_conversation');
  }
}
