import { Field, ObjectType } from 'type-graphql';
import { User } from '../../entities';

@ObjectType({ simpleResolvers: true })
export class Session {
  @Field(() => String)
  accessToken!: string;

  @Field(() => String)
  refreshToken!: string;

  @Field(() => Date)
  accessTokenExpiresAt!: Date;

  @Field(() => String, { description: 'Every session is a device; delivery cursors are kept per device.' })
  deviceId!: string;

  @Field(() => User)
  user!: User;
}
