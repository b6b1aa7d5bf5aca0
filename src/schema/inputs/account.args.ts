import { IsOptional, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';

const DEVICE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

@ArgsType()
export class RegisterArgs {
  @Field(() => String)
  @Length(3, 64, { message: 'account must be 3 to 64 characters' })
  @Matches(/^[\p{L}\p{N}._-]+$/u, { message: 'account may hold letters, digits, ".", "_" and "-" only' })
  account!: string;

  @Field(() => String)
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(256, { message: 'password must be at most 256 characters' })
  password!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64, { message: 'name must be 1 to 64 characters' })
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'The device this session is (1 to 64 characters of letters, digits, ".", "_", ":" or "-"); a new one is made when omitted. Sync starts at its first login.' })
  @IsOptional()
  @Matches(DEVICE_ID, { message: 'deviceId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"' })
  deviceId?: string | null;
}

@ArgsType()
export class LoginArgs {
  @Field(() => String)
  @MaxLength(64, { message: 'account must be at most 64 characters' })
  account!: string;

  @Field(() => String)
  @MaxLength(256, { message: 'password must be at most 256 characters' })
  password!: string;

  @Field(() => String, { nullable: true, description: 'Resume this device: its sync continues where it stopped, including what arrived while logged out. The device is one of this account (another account\'s deviceId is a new device here). Omitted: a new device, whose sync starts now; what arrived while logged out is then only in unreadCount and history.' })
  @IsOptional()
  @Matches(DEVICE_ID, { message: 'deviceId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"' })
  deviceId?: string | null;
}
