import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { NotificationStatus, NotificationType } from './enums';
import { idType } from './id';

/**
 * A stored notification (D19): the row is written first, then pushed live.
 * sender, receiver and group are resolved by NotificationResolver through loaders.
 */
@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'notification' })
export class Notification {
  [OptionalProps]?: 'groupId' | 'remark' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Field(() => NotificationType)
  @Property({ type: 'tinyint' })
  type!: NotificationType;

  @Field(() => NotificationStatus)
  @Property({ type: 'tinyint' })
  status!: NotificationStatus;

  @Property({ type: idType(), fieldName: 'sender_id' })
  senderId!: string;

  @Property({ type: idType(), fieldName: 'receiver_id' })
  receiverId!: string;

  @Field(() => ID, { nullable: true, description: 'The group a group notification is about, given even when `group` is null.' })
  @Property({ type: idType(), fieldName: 'group_id', nullable: true })
  groupId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 255, nullable: true })
  remark?: string | null;

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'updated_at' })
  updatedAt: Date = new Date();
}
