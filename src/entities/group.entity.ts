import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { idType } from './id';

/**
 * A group chat (table chat_group); its id is the id of its conversation row.
 * owner and members are resolved by GroupResolver.
 */
@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'chat_group' })
export class Group {
  [OptionalProps]?: 'avatar' | 'memberCount' | 'createdAt' | 'dissolvedAt';

  @Field(() => ID)
  @PrimaryKey({ type: idType(), autoincrement: false })
  id!: string;

  @Field(() => String)
  @Property({ type: 'string', length: 64 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 1024, nullable: true })
  avatar?: string | null;

  @Property({ type: idType(), fieldName: 'owner_id' })
  ownerId!: string;

  @Field(() => Int)
  @Property({ type: 'integer', fieldName: 'member_count' })
  memberCount: number = 0;

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, fieldName: 'dissolved_at', nullable: true })
  dissolvedAt?: Date | null;
}
