import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { idType } from './id';
import { Role } from './role.entity';

@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'user' })
export class User {
  [OptionalProps]?: 'createdAt' | 'deletedAt' | 'avatar' | 'email';

  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Field(() => String)
  @Property({ type: 'string', length: 64 })
  account!: string;

  /** accountKey(account) (src/services/text.ts): the unique key, compared byte for byte. */
  @Property({ type: 'string', length: 128, fieldName: 'account_key' })
  accountKey!: string;

  /** Never exposed: no @Field. */
  @Property({ type: 'string', fieldName: 'password_hash', lazy: true })
  passwordHash!: string;

  @Field(() => String)
  @Property({ type: 'string', length: 64 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 1024, nullable: true })
  avatar?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 254, nullable: true })
  email?: string | null;

  // Exposed through UserResolver.role so it is loaded in batches.
  @ManyToOne({ entity: () => Role, fieldName: 'role_id' })
  role!: Role;

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, fieldName: 'deleted_at', nullable: true })
  deletedAt?: Date | null;
}
