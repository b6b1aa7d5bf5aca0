import { Arg, Authorized, Ctx as C, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Permission, Role, User } from '../entities';
import { notFound } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId } from '../schema/ids';
import { maySee } from '../schema/visibility';

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => User)
  async me(@C() ctx: Ctx): Promise<User> {
    const user = await ctx.loaders.user.load(requireAuth(ctx).userId);
    if (!user || user.deletedAt) throw notFound('user');
    return user;
  }

  @Authorized()
  @Query(() => User, { nullable: true, description: 'Any user by id (private fields as the User type says); null for an id nobody has or a deleted account.' })
  async user(@Arg('id', () => ID) id: string, @C() ctx: Ctx): Promise<User | null> {
    const user = await ctx.loaders.user.load(parseId(id, 'id'));
    return user && !user.deletedAt ? user : null;
  }

  @Authorized()
  @Query(() => [User], { description: 'Find users by account or name prefix (private fields as the User type says).' })
  users(
    @Arg('search', () => String) search: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @C() ctx: Ctx,
  ): Promise<User[]> {
    return ctx.services.users.search(search, first ?? 20);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Private: seen by the user herself and by holders of the permission userGet; null for anyone else, and for a deleted account.',
  })
  async email(@Root() user: User, @C() ctx: Ctx): Promise<string | null> {
    return (await maySee(ctx, user, 'email')) ? (user.email ?? null) : null;
  }

  @FieldResolver(() => Role, {
    nullable: true,
    description: 'Private: seen by the user herself and by holders of the permission userGet or roleSet; null for anyone else.',
  })
  async role(@Root() user: User, @C() ctx: Ctx): Promise<Role | null> {
    return (await maySee(ctx, user, 'role')) ? ctx.loaders.role.load(user.role.id) : null;
  }

  @FieldResolver(() => Boolean, {
    nullable: true,
    description:
      'Private: true while at least one device of this user holds an open `messages` subscription (any server node). ' +
      'Seen by the user herself, her friends and the members of a group she is in now (both members now); null for anyone else ' +
      '(holders of userGet included), and for a deleted account.',
  })
  async online(@Root() user: User, @C() ctx: Ctx): Promise<boolean | null> {
    return (await maySee(ctx, user, 'online')) ? ctx.loaders.online.load(user.id) : null;
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description:
      'Private, seen by whoever sees `online`: when the server last saw a device of this user (an open socket or a request), ' +
      'exact to the minute (while she is connected it is at most a minute old). Null for anyone else, for a deleted account, ' +
      'and when unknown (never seen since the server kept it).',
  })
  async lastSeen(@Root() user: User, @C() ctx: Ctx): Promise<Date | null> {
    return (await maySee(ctx, user, 'lastSeen')) ? ctx.loaders.lastSeen.load(user.id) : null;
  }

  @FieldResolver(() => Boolean, {
    description: 'True for a deleted account, shown as a tombstone (see User).',
  })
  deleted(@Root() user: User): boolean {
    return user.deletedAt != null;
  }
}

@Resolver(() => Role)
export class RoleResolver {
  @FieldResolver(() => [Permission])
  permissions(@Root() role: Role): Permission[] {
    return role.permissions.isInitialized() ? role.permissions.getItems() : [];
  }
}
