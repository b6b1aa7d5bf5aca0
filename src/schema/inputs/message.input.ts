import { Field, ID, InputType } from 'type-graphql';
import { MessageType } from '../../entities/enums';

@InputType()
export class ConversationInput {
  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => ID, { nullable: true })
  groupId?: string | null;
}

/** Not validated by class-validator: MessageService checks every field with the text rules (src/services/text.ts). */
@InputType()
export class SendMessageInput {
  @Field(() => ConversationInput)
  to!: ConversationInput;

  @Field(() => String)
  clientMsgId!: string;

  @Field(() => MessageType)
  type!: MessageType;

  @Field(() => String)
  content!: string;

  @Field(() => String, { nullable: true })
  ext?: string | null;
}
