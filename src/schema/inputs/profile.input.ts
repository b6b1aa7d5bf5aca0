import { IsEmail, IsOptional, IsUrl, Length, MaxLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType()
export class ProfileInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64, { message: 'name must be 1 to 64 characters' })
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1024, { message: 'avatar must be at most 1024 characters' })
  @IsUrl({ require_tld: false }, { message: 'avatar must be a URL' })
  avatar?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsEmail({}, { message: 'email must be an email address' })
  email?: string | null;
}
