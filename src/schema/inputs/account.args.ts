import { IsOptional } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';
import { TEXT } from '../../services/text';
import { Text } from '../text';

@ArgsType()
export class RegisterArgs {
  @Field(() => String)
  @Text(TEXT.account)
  account!: string;

  @Field(() => String)
  @Text(TEXT.password)
  password!: string;

  /** Stored as given; the account when omitted. */
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.name)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.deviceId)
  deviceId?: string | null;
}

@ArgsType()
export class LoginArgs {
  @Field(() => String)
  @Text(TEXT.loginAccount)
  account!: string;

  @Field(() => String)
  @Text(TEXT.loginPassword)
  password!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Text(TEXT.deviceId)
  deviceId?: string | null;
}
