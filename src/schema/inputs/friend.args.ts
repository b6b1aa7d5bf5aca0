import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

@ArgsType()
export class SendFriendRequestArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(255, { message: 'remark must be at most 255 characters' })
  remark?: string | null;
}

/** Fields left out keep their value; remark: null clears the remark. */
@ArgsType()
export class UpdateFriendArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(64, { message: 'remark must be at most 64 characters' })
  remark?: string | null;

  @Field(() => Boolean, { nullable: true })
  starred?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  blocked?: boolean | null;
}
