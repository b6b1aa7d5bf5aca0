import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { idType } from './id';

/** One login = one session = one device (delivery cursors are per device). */
@Entity({ tableName: 'session' })
export class SessionRow {
  [OptionalProps]?: 'generation' | 'createdAt' | 'revokedAt' | 'prevRefreshHash' | 'rotatedAt';

  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: idType(), fieldName: 'user_id' })
  userId!: string;

  @Property({ type: 'string', length: 64, fieldName: 'device_id' })
  deviceId!: string;

  /** SHA-256 of the only refresh secret that is still valid (rotation, reuse detection). */
  @Property({ type: 'string', length: 64, fieldName: 'refresh_hash' })
  refreshHash!: string;

  /**
   * SHA-256 of the secret the last rotation replaced: presented again within
   * the reuse interval after `rotatedAt` it gets the same new pair (a retry,
   * or two tabs refreshing at once); later it is a replay.
   */
  @Property({ type: 'string', length: 64, fieldName: 'prev_refresh_hash', nullable: true })
  prevRefreshHash?: string | null;

  /** When the current refresh secret was issued by a rotation (null: never rotated). */
  @Property({ type: 'datetime', length: 3, fieldName: 'rotated_at', nullable: true })
  rotatedAt?: Date | null;

  @Property({ type: 'integer' })
  generation: number = 0;

  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, fieldName: 'expires_at' })
  expiresAt!: Date;

  @Property({ type: 'datetime', length: 3, fieldName: 'revoked_at', nullable: true })
  revokedAt?: Date | null;
}
