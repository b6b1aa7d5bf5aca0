import { Arg, Args, Authorized, Ctx as C, ID, Mutation, Resolver } from 'type-graphql';
import { User } from '../entities';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId } from '../schema/ids';
import { LoginArgs, RegisterArgs } from '../schema/inputs/account.args';
import { ProfileInput } from '../schema/inputs/profile.input';
import { Session } from '../schema/types/session.type';

/** The session's user reads her own private fields in the answer, though the request carried no token. */
function asOwner(ctx: Ctx, session: Session): Session {
  ctx.viewerId ??= session.user.id;
  return session;
}

@Resolver()
export class AccountResolver {
  @Mutation(() => Session)
  async register(@Args(() => RegisterArgs) args: RegisterArgs, @C() ctx: Ctx): Promise<Session> {
    return asOwner(ctx, await ctx.services.auth.register(args, ctx.ip));
  }

  @Mutation(() => Session, {
    description:
      'A new session. Pass the deviceId of an earlier session of this account to resume that device (its sync continues where it stopped); without one this is a new device, whose sync starts now.',
  })
  async login(@Args(() => LoginArgs) args: LoginArgs, @C() ctx: Ctx): Promise<Session> {
    return asOwner(ctx, await ctx.services.auth.login(args, ctx.ip));
  }

  @Mutation(() => Session)
  async refreshSession(@Arg('refreshToken', () => String) refreshToken: string, @C() ctx: Ctx): Promise<Session> {
    return asOwner(ctx, await ctx.services.auth.refresh(refreshToken));
  }

  @Authorized()
  @Mutation(() => Boolean)
  async logout(@C() ctx: Ctx): Promise<boolean> {
    await ctx.services.auth.revokeSession(requireAuth(ctx).sessionId);
    return true;
  }

  @Authorized()
  @Mutation(() => User)
  updateProfile(@Arg('input', () => ProfileInput) input: ProfileInput, @C() ctx: Ctx): Promise<User> {
    return ctx.services.users.updateProfile(requireAuth(ctx).userId, input);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Requires the permission userDel (or is the caller's own account)." })
  deleteUser(@Arg('id', () => ID) id: string, @C() ctx: Ctx): Promise<boolean> {
    return ctx.services.users.delete(requireAuth(ctx).userId, parseId(id, 'id'));
  }

  @Authorized('roleSet')
  @Mutation(() => User, { description: 'Requires the permission roleSet.' })
  setUserRole(@Arg('userId', () => ID) userId: string, @Arg('role', () => String) role: string, @C() ctx: Ctx): Promise<User> {
    return ctx.services.users.setRole(requireAuth(ctx).userId, parseId(userId, 'userId'), role);
  }
}
