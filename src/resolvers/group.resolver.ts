import { Arg, Args, Authorized, Ctx as C, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Group, GroupRole, User } from '../entities';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId, parseIds } from '../schema/ids';
import { CreateGroupArgs } from '../schema/inputs/group.args';
import { GroupMember } from '../schema/types/group-member.type';

@Resolver(() => Group)
export class GroupResolver {
  /** The caller's active groups. */
  @Authorized()
  @Query(() => [Group])
  groups(@C() ctx: Ctx): Promise<Group[]> {
    return ctx.services.groups.listFor(requireAuth(ctx).userId);
  }

  @Authorized()
  @Query(() => Group, { nullable: true, description: 'A group the caller is a member of now; null alike for a group nobody has, a dissolved one and one she is not in.' })
  group(@Arg('id', () => ID) id: string, @C() ctx: Ctx): Promise<Group | null> {
    return ctx.services.groups.get(requireAuth(ctx).userId, parseId(id, 'id'));
  }

  @Authorized()
  @Mutation(() => Group, {
    description:
      'The caller becomes the owner; memberIds may be empty (a group of one), and her own id in it is ignored. ' +
      'A user who is not her friend, an id nobody has and one who blocked her get one answer: NOT_FRIENDS.',
  })
  async createGroup(@Args(() => CreateGroupArgs) args: CreateGroupArgs, @C() ctx: Ctx): Promise<Group> {
    const me = requireAuth(ctx).userId;
    await ctx.services.limits.consume('groupCreate', me);
    return ctx.services.groups.create(me, { ...args, memberIds: parseIds(args.memberIds, 'memberIds') });
  }

  @Authorized()
  @Mutation(() => Group, {
    description:
      'The owner or an admin adds friends of hers. ' + 'NOT_FOUND \"group not found\" alike for a group nobody has, a dissolved one and one the caller is not a member of.' +
      ' A user who is not her friend, an id nobody has and one who blocked her get one answer: NOT_FRIENDS.',
  })
  addGroupMembers(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userIds', () => [ID]) userIds: string[],
    @C() ctx: Ctx,
  ): Promise<Group> {
    return ctx.services.groups.addMembers(requireAuth(ctx).userId, parseId(groupId, 'groupId'), parseIds(userIds, 'userIds'));
  }

  @Authorized()
  @Mutation(() => Group, { description: 'The owner or an admin removes a member. NOT_FOUND \"group not found\" alike for a group nobody has, a dissolved one and one the caller is not a member of. A user who is not a member: NOT_FOUND "member not found". Oneself: BAD_USER_INPUT (use leaveGroup).' })
  removeGroupMember(@Arg('groupId', () => ID) groupId: string, @Arg('userId', () => ID) userId: string, @C() ctx: Ctx): Promise<Group> {
    return ctx.services.groups.removeMember(requireAuth(ctx).userId, parseId(groupId, 'groupId'), parseId(userId, 'userId'));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'NOT_FOUND \"group not found\" alike for a group nobody has, a dissolved one and one the caller is not a member of.' })
  leaveGroup(@Arg('groupId', () => ID) groupId: string, @C() ctx: Ctx): Promise<boolean> {
    return ctx.services.groups.leave(requireAuth(ctx).userId, parseId(groupId, 'groupId'));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'The owner dissolves the group. NOT_FOUND \"group not found\" alike for a group nobody has, a dissolved one and one the caller is not a member of.' })
  dissolveGroup(@Arg('groupId', () => ID) groupId: string, @C() ctx: Ctx): Promise<boolean> {
    return ctx.services.groups.dissolve(requireAuth(ctx).userId, parseId(groupId, 'groupId'));
  }

  @Authorized()
  @Mutation(() => GroupMember, {
    description:
      'The owner makes a member ADMIN or MEMBER (ownership moves only when the owner leaves). NOT_FOUND \"group not found\" alike for a group nobody has, a dissolved one and one the caller is not a member of.' +
      ' A user who is not a member: NOT_FOUND "member not found".',
  })
  setGroupMemberRole(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => GroupRole) role: GroupRole,
    @C() ctx: Ctx,
  ): Promise<GroupMember> {
    return ctx.services.groups.setRole(requireAuth(ctx).userId, parseId(groupId, 'groupId'), parseId(userId, 'userId'), role);
  }

  @FieldResolver(() => User)
  owner(@Root() group: Group, @C() ctx: Ctx): Promise<User | null> {
    return ctx.loaders.user.load(group.ownerId);
  }

  @Authorized()
  @FieldResolver(() => [GroupMember])
  members(
    @Root() group: Group,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number | null,
    @Arg('after', () => ID, { nullable: true }) after: string | null,
    @C() ctx: Ctx,
  ): Promise<GroupMember[]> {
    return ctx.services.groups.members(requireAuth(ctx).userId, group.id, first ?? 100, after == null ? null : parseId(after, 'after'));
  }
}

@Resolver(() => GroupMember)
export class GroupMemberResolver {
  @FieldResolver(() => User)
  user(@Root() m: GroupMember, @C() ctx: Ctx): Promise<User | null> {
    return ctx.loaders.user.load(m.userId);
  }
}
