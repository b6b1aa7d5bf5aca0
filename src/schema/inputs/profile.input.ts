import { IsEmail, IsOptional, IsUrl } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { TEXT } from '../../services/text';
import { Text } from '../text';

@InputType()
export class ProfileInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.name)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.avatar)
  @IsUrl({ require_tld: false }, { message: 'avatar must be a URL' })
  avatar?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.email)
  @IsEmail({}, { message: 'email must be an email address' })
  email?: string | null;
}
