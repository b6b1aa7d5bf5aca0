import { Field, ObjectType } from 'type-graphql';

/** The caller's view of one friend; `user` is resolved by FriendResolver through the user loader. */
@ObjectType({ simpleResolvers: true })
export class Friend {
  userId!: string;

  @Field(() => String, { nullable: true })
  remark!: string | null;

  @Field(() => Boolean)
  starred!: boolean;

  @Field(() => Boolean)
  blocked!: boolean;

  @Field(() => Date)
  since!: Date;
}
