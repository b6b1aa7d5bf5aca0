import { IsOptional, IsUrl, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

@ArgsType()
export class CreateGroupArgs {
  @Field(() => String)
  @Length(1, 64, { message: 'name must be 1 to 64 characters' })
  name!: string;

  @Field(() => [ID])
  memberIds!: string[];

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1024, { message: 'avatar must be at most 1024 characters' })
  @IsUrl({ require_tld: false }, { message: 'avatar must be a URL' })
  avatar?: string | null;
}
