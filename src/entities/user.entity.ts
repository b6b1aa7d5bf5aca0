import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { idType } from './id';
import { Role } from './role.entity';

@ObjectType({
  simpleResolvers: true,
  description:
    'An account. id, account, name, avatar, createdAt and deleted are public; email, role, online and lastSeen are private: ' +
    'a viewer who may not see one reads null (each field says who may). ' +
    'A deleted account still appears where its past shows (the sender of its messages, the sender of its ' +
    'notifications, a conversation with it) as a tombstone: same id, `deleted` true, name "Deleted user", account "", ' +
    'avatar, email, online and lastSeen null. Anything that targets a user by id answers for it as for an id nobody has.',
})
@Entity({ tableName: 'user' })
export class User {
  [OptionalProps]?: 'createdAt' | 'deletedAt' | 'avatar' | 'email';

  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Field(() => String, { description: 'For a deleted account: the empty string.' })
  @Property({ type: 'string', length: 64 })
  account!: string;

  /** accountKey(account) (src/services/text.ts): the unique key, compared byte for byte. */
  @Property({ type: 'string', length: 128, fieldName: 'account_key' })
  accountKey!: string;

  /** Never exposed: no @Field. */
  @Property({ type: 'string', fieldName: 'password_hash', lazy: true })
  passwordHash!: string;

  @Field(() => String, { description: 'For a deleted account: "Deleted user".' })
  @Property({ type: 'string', length: 64 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 1024, nullable: true })
  avatar?: string | null;

  // Exposed through UserResolver.email: only some viewers may see it (src/schema/visibility.ts).
  @Property({ type: 'string', length: 254, nullable: true })
  email?: string | null;

  // Exposed through UserResolver.role so it is loaded in batches and shown only to whom may see it.
  @ManyToOne({ entity: () => Role, fieldName: 'role_id' })
  role!: Role;

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, fieldName: 'deleted_at', nullable: true })
  deletedAt?: Date | null;
}

/** The name a deleted account is shown with. */
export const DELETED_USER_NAME = 'Deleted user';

/**
 * How an account is shown to others: itself while it lives; for a deleted
 * one, a new (unmanaged, never flushed) User that keeps only the id, role,
 * creation and deletion times, so nothing of the former profile is shown.
 */
export function shownUser(user: User): User {
  if (!user.deletedAt) return user;
  return Object.assign(Object.create(User.prototype) as User, {
    id: user.id,
    account: '',
    accountKey: '',
    name: DELETED_USER_NAME,
    avatar: null,
    email: null,
    role: user.role,
    createdAt: user.createdAt,
    deletedAt: user.deletedAt,
  });
}
