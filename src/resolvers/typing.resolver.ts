import { Arg, Authorized, Ctx as C, FieldResolver, Mutation, Resolver, Root, Subscription } from 'type-graphql';
import { User } from '../entities';
import { badInput, notFound } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { parseId } from '../schema/ids';
import { createLoaders } from '../schema/loaders';
import { ConversationInput } from '../schema/inputs/message.input';
import { TypingEvent } from '../schema/types/typing.type';

@Resolver(() => TypingEvent)
export class TypingResolver {
  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Tell the conversation I am typing (rate limited: RL_TYPING). Send again every few seconds while typing; nothing is stored.',
  })
  async sendTyping(@Arg('with', () => ConversationInput) withWhom: ConversationInput, @C() ctx: Ctx): Promise<boolean> {
    const me = requireAuth(ctx).userId;
    if (!withWhom.userId === !withWhom.groupId) throw badInput('exactly one of userId and groupId');
    await ctx.services.limits.consume('typing', me);
    await ctx.services.typing.notify(
      me,
      withWhom.userId ? { userId: parseId(withWhom.userId, 'userId') } : { groupId: parseId(withWhom.groupId!, 'groupId') },
    );
    return true;
  }

  @Authorized()
  @Subscription(() => TypingEvent, {
    topics: 'TYPING',
    topicId: ({ context }) => requireAuth(context as Ctx).userId,
    description: 'Typing notices for me: from friends typing to me, and from members of my groups.',
  })
  typing(@Root() notice: TypingEvent, @C() ctx: Ctx): TypingEvent {
    // A subscription keeps one context for its life: each push resolves profiles afresh.
    ctx.loaders = createLoaders(ctx.services);
    return Object.assign(new TypingEvent(), notice);
  }

  @FieldResolver(() => User, { description: 'Who is typing.' })
  async user(@Root() e: TypingEvent, @C() ctx: Ctx): Promise<User> {
    const u = await ctx.loaders.user.load(e.userId);
    if (!u) throw notFound('user');
    return u;
  }
}
