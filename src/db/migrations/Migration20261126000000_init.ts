import { Migration } from '@mikro-orm/migrations';

/**
 * The first schema. Ids are BIGINT UNSIGNED; text is utf8mb4 so emoji fit.
 * Indexes are chosen for the hot paths: sync and history are range scans on
 * message (conversation_id, id) / (conversation_id, seq); notifications page by
 * (receiver_id, id).
 */
export class Migration20261126000000_init extends Migration {
  override async up(): Promise<void> {
    const table = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    this.addSql(`CREATE TABLE permission (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      name VARCHAR(64) NOT NULL UNIQUE,
      description VARCHAR(255) NULL) ${table}`);
    this.addSql(`CREATE TABLE role (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      name VARCHAR(64) NOT NULL UNIQUE,
      description VARCHAR(255) NULL) ${table}`);
    this.addSql(`CREATE TABLE role_permissions (
      role_id BIGINT UNSIGNED NOT NULL,
      permission_id BIGINT UNSIGNED NOT NULL,
      PRIMARY KEY (role_id, permission_id),
      CONSTRAINT fk_rp_role FOREIGN KEY (role_id) REFERENCES role (id) ON DELETE CASCADE,
      CONSTRAINT fk_rp_perm FOREIGN KEY (permission_id) REFERENCES permission (id) ON DELETE CASCADE) ${table}`);
    this.addSql(`CREATE TABLE user (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      account VARCHAR(64) NOT NULL,
      account_key VARCHAR(64) NOT NULL,
      password_hash VARCHAR(255) NOT NULL,
      name VARCHAR(64) NOT NULL,
      avatar VARCHAR(1024) NULL,
      email VARCHAR(254) NULL,
      role_id BIGINT UNSIGNED NOT NULL,
      created_at DATETIME(3) NOT NULL,
      deleted_at DATETIME(3) NULL,
      UNIQUE KEY uq_user_account (account_key),
      KEY ix_user_name (name),
      CONSTRAINT fk_user_role FOREIGN KEY (role_id) REFERENCES role (id)) ${table}`);
    this.addSql(`CREATE TABLE session (
      id CHAR(36) NOT NULL PRIMARY KEY,
      user_id BIGINT UNSIGNED NOT NULL,
      device_id VARCHAR(64) NOT NULL,
      refresh_hash CHAR(64) NOT NULL,
      generation INT UNSIGNED NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL,
      expires_at DATETIME(3) NOT NULL,
      revoked_at DATETIME(3) NULL,
      KEY ix_session_user (user_id),
      CONSTRAINT fk_session_user FOREIGN KEY (user_id) REFERENCES user (id)) ${table}`);
    this.addSql(`CREATE TABLE friendship (
      user_lo BIGINT UNSIGNED NOT NULL,
      user_hi BIGINT UNSIGNED NOT NULL,
      created_at DATETIME(3) NOT NULL,
      PRIMARY KEY (user_lo, user_hi),
      KEY ix_friendship_hi (user_hi)) ${table}`);
    this.addSql(`CREATE TABLE friend_setting (
      user_id BIGINT UNSIGNED NOT NULL,
      peer_id BIGINT UNSIGNED NOT NULL,
      remark VARCHAR(64) NULL,
      starred TINYINT(1) NOT NULL DEFAULT 0,
      blocked TINYINT(1) NOT NULL DEFAULT 0,
      updated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (user_id, peer_id)) ${table}`);
    this.addSql(`CREATE TABLE notification (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      type TINYINT UNSIGNED NOT NULL,
      status TINYINT UNSIGNED NOT NULL,
      sender_id BIGINT UNSIGNED NOT NULL,
      receiver_id BIGINT UNSIGNED NOT NULL,
      group_id BIGINT UNSIGNED NULL,
      remark VARCHAR(255) NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      KEY ix_notification_receiver (receiver_id, id),
      KEY ix_notification_receiver_status (receiver_id, status, id),
      KEY ix_notification_pair (sender_id, receiver_id, type, status)) ${table}`);
    // A conversation is a one-to-one pair (direct_key = "lo:hi") or a group
    // (chat_group.id = conversation.id). head_seq is locked to number messages (D2).
    this.addSql(`CREATE TABLE conversation (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      kind TINYINT UNSIGNED NOT NULL,
      direct_key VARCHAR(41) NULL,
      head_seq INT UNSIGNED NOT NULL DEFAULT 0,
      last_message_id BIGINT UNSIGNED NULL,
      last_activity_at DATETIME(3) NOT NULL,
      UNIQUE KEY uq_conversation_direct (direct_key)) ${table}`);
    this.addSql(`CREATE TABLE chat_group (
      id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
      name VARCHAR(64) NOT NULL,
      avatar VARCHAR(1024) NULL,
      owner_id BIGINT UNSIGNED NOT NULL,
      member_count INT UNSIGNED NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL,
      dissolved_at DATETIME(3) NULL,
      CONSTRAINT fk_group_conversation FOREIGN KEY (id) REFERENCES conversation (id)) ${table}`);
    // One row per (conversation, member): the member's view window of the
    // conversation's messages (visible_from < id <= visible_to) and read state
    // (D15, D17: never a row per message). role is set for groups only.
    this.addSql(`CREATE TABLE conversation_member (
      conversation_id BIGINT UNSIGNED NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      peer_id BIGINT UNSIGNED NULL,
      role TINYINT UNSIGNED NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      joined_at DATETIME(3) NOT NULL,
      visible_from BIGINT UNSIGNED NOT NULL DEFAULT 0,
      visible_to BIGINT UNSIGNED NULL,
      last_read_id BIGINT UNSIGNED NULL,
      last_read_seq INT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (conversation_id, user_id),
      KEY ix_member_user (user_id, active),
      KEY ix_member_group_join (conversation_id, active, joined_at)) ${table}`);
    this.addSql(`CREATE TABLE message (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      conversation_id BIGINT UNSIGNED NOT NULL,
      seq INT UNSIGNED NOT NULL,
      sender_id BIGINT UNSIGNED NOT NULL,
      client_msg_id VARCHAR(64) NOT NULL,
      type TINYINT UNSIGNED NOT NULL,
      receiver_id BIGINT UNSIGNED NULL,
      group_id BIGINT UNSIGNED NULL,
      content TEXT NOT NULL,
      ext VARCHAR(1024) NULL,
      created_at DATETIME(3) NOT NULL,
      UNIQUE KEY uq_message_client (sender_id, client_msg_id),
      UNIQUE KEY uq_message_seq (conversation_id, seq),
      KEY ix_message_conversation (conversation_id, id)) ${table}`);
    // The per-device ack cursor (D8, D9, D7, D13). Only ever changed by single
    // conditional UPDATE statements, never read-modify-write.
    this.addSql(`CREATE TABLE device_cursor (
      user_id BIGINT UNSIGNED NOT NULL,
      device_id VARCHAR(64) NOT NULL,
      last_ack BIGINT UNSIGNED NOT NULL DEFAULT 0,
      last_ack_err BIGINT UNSIGNED NULL,
      version INT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (user_id, device_id)) ${table}`);

    this.addSql(`INSERT INTO permission (name, description) VALUES
      ('userGet', 'Read any user, including deleted ones'),
      ('userDel', 'Delete any user'),
      ('roleSet', 'Change any user''s role')`);
    this.addSql(`INSERT INTO role (name, description) VALUES
      ('user', 'A regular user'), ('admin', 'An administrator')`);
    this.addSql(`INSERT INTO role_permissions (role_id, permission_id)
      SELECT r.id, p.id FROM role r JOIN permission p WHERE r.name = 'admin'`);
  }

  override async down(): Promise<void> {
    for (const t of [
      'device_cursor', 'message', 'conversation_member', 'chat_group', 'conversation', 'notification',
      'friend_setting', 'friendship', 'session', 'user', 'role_permissions', 'role', 'permission',
    ]) {
      this.addSql(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
