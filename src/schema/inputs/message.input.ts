import { IsOptional, Length, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { MessageType } from '../../entities/enums';

@InputType()
export class ConversationInput {
  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => ID, { nullable: true })
  groupId?: string | null;
}

@InputType()
export class SendMessageInput {
  @Field(() => ConversationInput)
  to!: ConversationInput;

  @Field(() => String)
  @Length(1, 64, { message: 'clientMsgId must be 1 to 64 characters' })
  clientMsgId!: string;

  @Field(() => MessageType)
  type!: MessageType;

  // Counted again in code points by MessageService (an emoji is one character there).
  @Field(() => String)
  @Length(1, 8192, { message: 'content must be 1 to 4096 characters' })
  content!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2048, { message: 'ext must be at most 1024 characters' })
  ext?: string | null;
}
