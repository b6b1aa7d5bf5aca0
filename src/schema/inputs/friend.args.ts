import { IsOptional } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';
import { TEXT } from '../../services/text';
import { Text } from '../text';

@ArgsType()
export class SendFriendRequestArgs {
  @Field(() => ID)
  userId!: string;

  /** Stored as given; null or omitted for none (a blank remark is refused). */
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.requestRemark)
  remark?: string | null;
}

/** Fields left out keep their value; remark: null clears the remark. */
@ArgsType()
export class UpdateFriendArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.friendRemark)
  remark?: string | null;

  @Field(() => Boolean, { nullable: true })
  starred?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  blocked?: boolean | null;
}
