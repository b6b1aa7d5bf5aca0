import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { idType } from './id';

/**
 * One side's view of a peer. Kept when the friendship ends, so a block
 * survives removal and still refuses the peer's requests and messages.
 */
@Entity({ tableName: 'friend_setting' })
export class FriendSetting {
  [OptionalProps]?: 'remark' | 'starred' | 'blocked' | 'updatedAt';

  @PrimaryKey({ type: idType(), fieldName: 'user_id', autoincrement: false })
  userId!: string;

  @PrimaryKey({ type: idType(), fieldName: 'peer_id', autoincrement: false })
  peerId!: string;

  @Property({ type: 'string', length: 64, nullable: true })
  remark?: string | null;

  @Property({ type: 'boolean' })
  starred: boolean = false;

  @Property({ type: 'boolean' })
  blocked: boolean = false;

  @Property({ type: 'datetime', length: 3, fieldName: 'updated_at' })
  updatedAt: Date = new Date();
}
