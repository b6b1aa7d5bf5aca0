import { Field, ObjectType } from 'type-graphql';

/** The caller's view of one friend; `user` is resolved by FriendResolver through the user loader. */
@ObjectType({ simpleResolvers: true })
export class Friend {
  userId!: string;

  @Field(() => String, { nullable: true })
  remark!: string | null;

  @Field(() => Boolean)
  starred!: boolean;

  @Field(() => Boolean, {
    description:
      'Your own setting: this friend cannot message you, send you friend requests (they are held unseen) or share a new group with you. ' +
      'He is never told: he is refused exactly as a non-friend is, and still sees you as a friend.',
  })
  blocked!: boolean;

  @Field(() => Date)
  since!: Date;
}
