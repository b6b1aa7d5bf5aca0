import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { MessageType } from './enums';
import { idType } from './id';

/** One stored copy per message, 1:1 or group (D2). Built from rows by message.convert.ts. */
@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'message' })
export class Message {
  @Field(() => ID)
  @PrimaryKey({ type: idType() })
  id!: string;

  @Property({ type: idType(), fieldName: 'conversation_id' })
  conversationId!: string;

  @Field(() => Int, { description: 'Position in its conversation: 1, 2, 3, ... with no gaps; a client that sees a gap fills it with `history`.' })
  @Property({ type: 'integer' })
  seq!: number;

  @Field(() => String, { description: 'The sender\'s idempotency key: sending the same (sender, clientMsgId) twice stores one message.' })
  @Property({ type: 'string', length: 64, fieldName: 'client_msg_id' })
  clientMsgId!: string;

  @Field(() => MessageType)
  @Property({ type: 'tinyint' })
  type!: MessageType;

  // Exposed as `sender: User!` by MessageResolver through the user loader.
  @Property({ type: idType(), fieldName: 'sender_id' })
  senderId!: string;

  @Field(() => ID, { nullable: true, description: 'Set for a one-to-one message.' })
  @Property({ type: idType(), fieldName: 'receiver_id', nullable: true })
  receiverId!: string | null;

  @Field(() => ID, { nullable: true, description: 'Set for a group message.' })
  @Property({ type: idType(), fieldName: 'group_id', nullable: true })
  groupId!: string | null;

  @Field(() => String)
  @Property({ type: 'text' })
  content!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 1024, nullable: true })
  ext!: string | null;

  @Field(() => Date)
  @Property({ type: 'datetime', length: 3, fieldName: 'created_at' })
  createdAt!: Date;
}
