import { Migration } from '@mikro-orm/migrations';

/**
 * Stores messages clustered by conversation: the primary key becomes
 * (conversation_id, id), so one conversation's messages sit together on disk.
 * A sync or history page of 500 reads a handful of pages instead of up to
 * 500 pages spread over the whole table: with 1,000,000 other messages and a
 * buffer pool smaller than the table, that was most of a catch-up's time.
 * `id` stays unique (and is what AUTO_INCREMENT needs as a key); the old
 * (conversation_id, id) index is the primary key now.
 */
export class Migration20261127000000_message_by_conversation extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'ALTER TABLE message DROP PRIMARY KEY, ADD PRIMARY KEY (conversation_id, id), ADD UNIQUE KEY uq_message_id (id), DROP KEY ix_message_conversation',
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      'ALTER TABLE message DROP PRIMARY KEY, ADD PRIMARY KEY (id), DROP KEY uq_message_id, ADD KEY ix_message_conversation (conversation_id, id)',
    );
  }
}
