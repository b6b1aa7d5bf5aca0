import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { idType } from './id';

@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'permission' })
export class Permission {
  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Field(() => String)
  @Property({ type: 'string', length: 64, unique: true })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', nullable: true })
  description?: string | null;
}
