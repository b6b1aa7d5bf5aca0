import { Arg, Authorized, Ctx as C, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Permission, Role, User } from '../entities';
import { notFound } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId } from '../schema/ids';

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
  @Query(() => User, { nullable: true })
  async user(@Arg('id', () => ID) id: string, @C() ctx: Ctx): Promise<User | null> {
    const user = await ctx.loaders.user.load(parseId(id, 'id'));
    return user && !user.deletedAt ? user : null;
  }

  @Authorized()
  @Query(() => [User], { description: 'Find users by account or name prefix.' })
  users(
    @Arg('search', () => String) search: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @C() ctx: Ctx,
  ): Promise<User[]> {
    return ctx.services.users.search(search, first ?? 20);
  }

  @FieldResolver(() => Role)
  role(@Root() user: User, @C() ctx: Ctx): Promise<Role> {
    return ctx.loaders.role.load(user.role.id);
  }

  @FieldResolver(() => Boolean, {
    description: 'True while at least one device of this user holds an open subscription socket (any server node); false for a deleted account.',
  })
  online(@Root() user: User, @C() ctx: Ctx): Promise<boolean> | boolean {
    return user.deletedAt ? false : ctx.loaders.online.load(user.id);
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
