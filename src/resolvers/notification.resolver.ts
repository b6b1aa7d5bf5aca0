import { Arg, Authorized, Ctx as C, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { Group, Notification, NotificationStatus, User } from '../entities';
import { badInput } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId, parseIds } from '../schema/ids';
import { createLoaders } from '../schema/loaders';
import { MAX_ACK_IDS, type NotificationWire, fromWire } from '../services/notification.service';

@Resolver(() => Notification)
export class NotificationResolver {
  /** The receiver's own, newest first; also the catch-up for missed pushes with status INITIAL (D19). */
  @Authorized()
  @Query(() => [Notification], { name: 'notifications' })
  list(
    @Arg('status', () => NotificationStatus, { nullable: true }) status: NotificationStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg('after', () => ID, { nullable: true }) after: string | null,
    @C() ctx: Ctx,
  ): Promise<Notification[]> {
    return ctx.services.notifications.list(requireAuth(ctx).userId, {
      status,
      first: first ?? 50,
      after: after == null ? null : parseId(after, 'after'),
    });
  }

  @Authorized()
  @Mutation(() => [Notification], {
    description: 'The caller\'s own only: any id that is not hers, or nobody\'s, is NOT_FOUND (the ids in extensions.ids) and nothing changes.',
  })
  acknowledgeNotifications(@Arg('ids', () => [ID]) ids: string[], @C() ctx: Ctx): Promise<Notification[]> {
    if (ids.length > MAX_ACK_IDS) throw badInput(`at most ${MAX_ACK_IDS} ids at once`);
    return ctx.services.notifications.acknowledge(requireAuth(ctx).userId, parseIds(ids, 'ids'));
  }

  /** Each stored notification of the caller, live, on whichever node holds the socket (topic per receiver). */
  @Authorized()
  @Subscription(() => Notification, {
    name: 'notifications',
    topics: 'NOTIFICATION',
    // The auth checker runs before this, so auth is set.
    topicId: ({ context }) => (context as Ctx).auth!.userId,
  })
  pushed(@Root() payload: NotificationWire, @C() ctx: Ctx): Notification {
    // A subscription keeps one context (and its loaders) for its whole life:
    // without this, every later push would show profiles (and presence) as of the first one.
    ctx.loaders = createLoaders(ctx.services);
    return fromWire(payload);
  }

  @FieldResolver(() => User)
  sender(@Root() n: Notification, @C() ctx: Ctx): Promise<User | null> {
    return ctx.loaders.user.load(n.senderId);
  }

  @FieldResolver(() => User)
  receiver(@Root() n: Notification, @C() ctx: Ctx): Promise<User | null> {
    return ctx.loaders.user.load(n.receiverId);
  }

  @FieldResolver(() => Group, {
    nullable: true,
    description: 'The group while the viewer is a member of it; null once she is not (a removal, a leave, a dissolved group): its name and members are for members.',
  })
  async group(@Root() n: Notification, @C() ctx: Ctx): Promise<Group | null> {
    if (!n.groupId || !ctx.auth || !(await ctx.services.groups.isMember(n.groupId, ctx.auth.userId))) return null;
    return ctx.loaders.group.load(n.groupId);
  }
}
