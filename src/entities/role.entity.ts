import { Collection, Entity, ManyToMany, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { idType } from './id';
import { Permission } from './permission.entity';

@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'role' })
export class Role {
  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Field(() => String)
  @Property({ type: 'string', length: 64, unique: true })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', nullable: true })
  description?: string | null;

  // Resolved by RoleResolver so the list is loaded only when asked for.
  @ManyToMany({ entity: () => Permission, pivotTable: 'role_permissions', joinColumn: 'role_id', inverseJoinColumn: 'permission_id' })
  permissions = new Collection<Permission>(this);
}
