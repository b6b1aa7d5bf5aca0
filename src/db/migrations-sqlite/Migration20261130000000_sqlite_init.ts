import { Migration } from '@mikro-orm/migrations';

/**
 * The embedded database's schema: the same tables, columns and keys as the
 * MariaDB migrations up to Migration20261129130000, in SQLite's terms.
 * - Ids: `INTEGER PRIMARY KEY AUTOINCREMENT`, so an id is never reused even
 *   after the newest row is deleted (message ids are cursors, D8).
 * - Times: INTEGER epoch milliseconds, as MikroORM stores a Date in SQLite.
 * - Columns that are BIGINT in MariaDB are declared BIGINT here too (the same
 *   INTEGER affinity), so a reader can tell them from the INT ones.
 * - Keys that MariaDB compares byte for byte (account_key, client_msg_id,
 *   device_id) compare byte for byte here too: SQLite's BINARY collation.
 */
export class Migration20261130000000_sqlite_init extends Migration {
  override async up(): Promise<void> {
    for (const sql of SCHEMA) this.addSql(sql);
  }
}

const SCHEMA = [
  `CREATE TABLE permission (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NULL)`,
  `CREATE TABLE role (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NULL)`,
  `CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permission (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id))`,
  `CREATE INDEX fk_rp_perm ON role_permissions (permission_id)`,
  `CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account VARCHAR(64) NOT NULL,
    account_key VARCHAR(128) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(64) NOT NULL,
    avatar VARCHAR(1024) NULL,
    email VARCHAR(254) NULL,
    role_id BIGINT NOT NULL REFERENCES role (id),
    created_at DATETIME NOT NULL,
    deleted_at DATETIME NULL)`,
  `CREATE UNIQUE INDEX uq_user_account ON user (account_key)`,
  `CREATE INDEX ix_user_name ON user (name)`,
  `CREATE INDEX fk_user_role ON user (role_id)`,
  `CREATE TABLE session (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES user (id),
    device_id VARCHAR(64) NOT NULL,
    refresh_hash CHAR(64) NOT NULL,
    prev_refresh_hash VARCHAR(64) NULL,
    rotated_at DATETIME NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME NULL)`,
  `CREATE INDEX ix_session_user ON session (user_id)`,
  `CREATE TABLE friendship (
    user_lo BIGINT NOT NULL,
    user_hi BIGINT NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_lo, user_hi))`,
  `CREATE INDEX ix_friendship_hi ON friendship (user_hi)`,
  `CREATE TABLE friend_setting (
    user_id BIGINT NOT NULL,
    peer_id BIGINT NOT NULL,
    remark VARCHAR(64) NULL,
    starred INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, peer_id))`,
  `CREATE TABLE notification (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type INTEGER NOT NULL,
    status INTEGER NOT NULL,
    sender_id BIGINT NOT NULL,
    receiver_id BIGINT NOT NULL,
    group_id BIGINT NULL,
    remark VARCHAR(255) NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL)`,
  `CREATE INDEX ix_notification_receiver ON notification (receiver_id, id)`,
  `CREATE INDEX ix_notification_receiver_status ON notification (receiver_id, status, id)`,
  `CREATE INDEX ix_notification_pair ON notification (sender_id, receiver_id, type, status)`,
  `CREATE TABLE conversation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,
    direct_key VARCHAR(41) NULL UNIQUE,
    head_seq INTEGER NOT NULL DEFAULT 0,
    last_message_id BIGINT NULL,
    last_activity_at DATETIME NOT NULL)`,
  `CREATE TABLE chat_group (
    id BIGINT NOT NULL PRIMARY KEY REFERENCES conversation (id),
    name VARCHAR(64) NOT NULL,
    avatar VARCHAR(1024) NULL,
    owner_id BIGINT NOT NULL,
    member_count INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    dissolved_at DATETIME NULL)`,
  `CREATE TABLE conversation_member (
    conversation_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    peer_id BIGINT NULL,
    role INTEGER NULL,
    active INTEGER NOT NULL DEFAULT 1,
    joined_at DATETIME NOT NULL,
    visible_from BIGINT NOT NULL DEFAULT 0,
    visible_to BIGINT NULL,
    visible_from_seq INTEGER NOT NULL DEFAULT 0,
    visible_to_seq INTEGER NULL,
    last_read_id BIGINT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id))`,
  `CREATE INDEX ix_member_user ON conversation_member (user_id, active)`,
  `CREATE INDEX ix_member_group_join ON conversation_member (conversation_id, active, joined_at)`,
  `CREATE TABLE membership_window (
    user_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    visible_from BIGINT NOT NULL,
    visible_to BIGINT NOT NULL,
    visible_from_seq INTEGER NOT NULL,
    visible_to_seq INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id, visible_from))`,
  `CREATE INDEX ix_window_conversation ON membership_window (conversation_id, visible_to)`,
  `CREATE TABLE message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    sender_id BIGINT NOT NULL,
    client_msg_id VARCHAR(64) NOT NULL,
    type INTEGER NOT NULL,
    receiver_id BIGINT NULL,
    group_id BIGINT NULL,
    content TEXT NOT NULL,
    ext VARCHAR(1024) NULL,
    created_at DATETIME NOT NULL)`,
  `CREATE UNIQUE INDEX uq_message_client ON message (sender_id, client_msg_id)`,
  `CREATE UNIQUE INDEX uq_message_seq ON message (conversation_id, seq)`,
  `CREATE INDEX ix_message_conversation ON message (conversation_id, id)`,
  `CREATE TABLE device_cursor (
    user_id BIGINT NOT NULL,
    device_id VARCHAR(64) NOT NULL,
    last_ack BIGINT NOT NULL DEFAULT 0,
    last_ack_err BIGINT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id))`,
  `INSERT INTO permission (name, description) VALUES
    ('userGet', 'Read any user, including deleted ones'),
    ('userDel', 'Delete any user'),
    ('roleSet', 'Change any user''s role')`,
  `INSERT INTO role (name, description) VALUES ('user', 'A regular user'), ('admin', 'An administrator')`,
  `INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM role r JOIN permission p WHERE r.name = 'admin'`,
];
