import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { idType } from './id';

/** One row per pair, smaller id first, so a pair can never be friends twice. */
@Entity({ tableName: 'friendship' })
export class Friendship {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: idType(), fieldName: 'user_lo', autoincrement: false })
  userLo!: string;

  @PrimaryKey({ type: idType(), fieldName: 'user_hi', autoincrement: false })
  userHi!: string;

  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();
}
