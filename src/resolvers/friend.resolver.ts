import { Arg, Args, Authorized, Ctx as C, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Notification, User } from '../entities';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId } from '../schema/ids';
import { SendFriendRequestArgs, UpdateFriendArgs } from '../schema/inputs/friend.args';
import { Friend } from '../schema/types/friend.type';

@Resolver(() => Friend)
export class FriendResolver {
  @Authorized()
  @Query(() => [Friend])
  friends(@C() ctx: Ctx): Promise<Friend[]> {
    return ctx.services.friends.list(requireAuth(ctx).userId);
  }

  @Authorized()
  @Mutation(() => Notification, {
    description:
      'NOT_FOUND for an id nobody has (or a deleted account). A request to someone who blocked the caller is answered exactly ' +
      'as any other (a block is never told) but held: it is not pushed, and the blocker does not see it while he blocks.',
  })
  async sendFriendRequest(@Args(() => SendFriendRequestArgs) args: SendFriendRequestArgs, @C() ctx: Ctx): Promise<Notification> {
    const me = requireAuth(ctx).userId;
    await ctx.services.limits.consume('friendRequest', me);
    return ctx.services.friends.sendRequest(me, parseId(args.userId, 'userId'), args.remark);
  }

  @Authorized()
  @Mutation(() => Notification, { description: 'Only its receiver answers a request: someone else\'s is NOT_FOUND, as an id nobody has.' })
  respondToFriendRequest(
    @Arg('notificationId', () => ID) notificationId: string,
    @Arg('accept', () => Boolean) accept: boolean,
    @C() ctx: Ctx,
  ): Promise<Notification> {
    return ctx.services.friends.respond(requireAuth(ctx).userId, parseId(notificationId, 'notificationId'), accept);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Block or unblock any user, friend or not (updateFriend(blocked) does the same for a friend). A blocked user cannot message you, reach you by a friend request or share a new group with you, and is never told. NOT_FOUND for an id nobody has (users are public).',
  })
  async setBlocked(@Arg('userId', () => ID) userId: string, @Arg('blocked', () => Boolean) blocked: boolean, @C() ctx: Ctx): Promise<boolean> {
    await ctx.services.friends.setBlocked(requireAuth(ctx).userId, parseId(userId, 'userId'), blocked);
    return true;
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'NOT_FRIENDS alike for a user who is not a friend and an id nobody has.' })
  removeFriend(@Arg('userId', () => ID) userId: string, @C() ctx: Ctx): Promise<boolean> {
    return ctx.services.friends.remove(requireAuth(ctx).userId, parseId(userId, 'userId'));
  }

  @Authorized()
  @Mutation(() => Friend, { description: 'Changes the caller\'s own settings for a friend; NOT_FRIENDS alike for a user who is not a friend and an id nobody has.' })
  updateFriend(@Args(() => UpdateFriendArgs) args: UpdateFriendArgs, @C() ctx: Ctx): Promise<Friend> {
    const { userId, ...patch } = args;
    return ctx.services.friends.update(requireAuth(ctx).userId, parseId(userId, 'userId'), patch);
  }

  @FieldResolver(() => User)
  user(@Root() friend: Friend, @C() ctx: Ctx): Promise<User | null> {
    return ctx.loaders.user.load(friend.userId);
  }
}
