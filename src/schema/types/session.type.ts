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

  @Field(() => String, {
    description:
      "This session's device. The delivery cursor (what sync returns) is kept per user and device: keep this id and pass it to the next login to resume the same device's sync. A login without it is a new device, whose sync starts at that login; messages that arrived while logged out then show only in unreadCount and history.",
  })
  deviceId!: string;

  @Field(() => User)
  user!: User;
}
