import { BigIntType, Entity, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { idType } from './id';

/**
 * One device's delivery cursor (table device_cursor; the rules are D7-D13 in
 * src/delivery/README.md, applied by src/delivery/cursor-store.ts). Message
 * ids below lastAck were acknowledged; lastAckErr is the smallest id that
 * may not have reached the device (null: none); version counts the failures
 * and fences a sync token is checked against (D13).
 *
 * The columns as both schemas declare them: BIGINT (UNSIGNED in MariaDB) for
 * ids, INT for version; device_id compares byte for byte (utf8mb4_nopad_bin
 * in MariaDB, BINARY in SQLite). Cursor values are bigint in code.
 */
@Entity({ tableName: 'device_cursor' })
export class DeviceCursor {
  [PrimaryKeyProp]?: ['userId', 'deviceId'];
  [OptionalProps]?: 'lastAck' | 'lastAckErr' | 'version';

  @PrimaryKey({ type: idType(), fieldName: 'user_id', autoincrement: false, unsigned: true })
  userId!: string;

  @PrimaryKey({ type: 'string', length: 64, fieldName: 'device_id' })
  deviceId!: string;

  @Property({ type: new BigIntType('bigint'), fieldName: 'last_ack', unsigned: true, default: 0 })
  lastAck!: bigint;

  @Property({ type: new BigIntType('bigint'), fieldName: 'last_ack_err', unsigned: true, nullable: true })
  lastAckErr!: bigint | null;

  @Property({ type: 'integer', unsigned: true, default: 0 })
  version!: number;
}
