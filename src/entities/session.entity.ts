import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { idType } from './id';

/** One login = one session = one device (delivery cursors are per device). */
@Entity({ tableName: 'session' })
export class SessionRow {
  [OptionalProps]?: 'generation' | 'createdAt' | 'revokedAt';

  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: idType(), fieldName: 'user_id' })
  userId!: string;

  @Property({ type: 'string', length: 64, fieldName: 'device_id' })
  deviceId!: string;

  /** SHA-256 of the only refresh secret that is still valid (rotation, reuse detection). */
  @Property({ type: 'string', length: 64, fieldName: 'refresh_hash' })
  refreshHash!: string;

  @Property({ type: 'integer' })
  generation: number = 0;

  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, fieldName: 'expires_at' })
  expiresAt!: Date;

  @Property({ type: 'datetime', length: 3, fieldName: 'revoked_at', nullable: true })
  revokedAt?: Date | null;
}
