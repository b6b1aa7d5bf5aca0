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

  @Field(() => String, { nullable: true, description: 'The device this session is (1 to 64 characters of letters, digits, ".", "_", ":" or "-"); a new one is made when omitted. Sync starts at its first login.' })
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

  @Field(() => String, { nullable: true, description: 'Resume this device: its sync continues where it stopped, including what arrived while logged out. The device is one of this account (another account\'s deviceId is a new device here). Omitted: a new device, whose sync starts now; what arrived while logged out is then only in unreadCount and history.' })
  @IsOptional()
  @Text(TEXT.deviceId)
  deviceId?: string | null;
}
