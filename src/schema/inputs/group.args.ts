import { IsOptional, IsUrl } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';
import { TEXT } from '../../services/text';
import { Text } from '../text';

@ArgsType()
export class CreateGroupArgs {
  @Field(() => String)
  @Text(TEXT.groupName)
  name!: string;

  @Field(() => [ID])
  memberIds!: string[];

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.avatar)
  @IsUrl({ require_tld: false }, { message: 'avatar must be a URL' })
  avatar?: string | null;
}
