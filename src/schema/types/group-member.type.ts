import { Field, ID, ObjectType } from 'type-graphql';
import { GroupRole } from '../../entities';

/** One active member of a group; `user` is resolved by GroupMemberResolver through the user loader. */
@ObjectType({ simpleResolvers: true })
export class GroupMember {
  groupId!: string;
  userId!: string;

  @Field(() => GroupRole)
  role!: GroupRole;

  @Field(() => Date)
  joinedAt!: Date;

  @Field(() => ID, { nullable: true, description: 'Id of the last message this member has read in the group, if any.' })
  lastRead!: string | null;
}
