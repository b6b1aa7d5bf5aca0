import { Arg, Authorized, Ctx as C, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { Group, User } from '../entities';
import { messageFromRow } from '../entities/message.convert';
import { Message } from '../entities/message.entity';
import { notFound } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { createLoaders } from '../schema/loaders';
import { parseId } from '../schema/ids';
import { ConversationInput } from '../schema/inputs/message.input';
import { Conversation, MessageReaders, ReadReceipt } from '../schema/types/read.type';

const ref = (c: ConversationInput) =>
  c.userId ? { userId: parseId(c.userId, 'userId') } : { groupId: c.groupId ? parseId(c.groupId, 'groupId') : null };

const toReceipt = (v: { readerId: string; peerId: string | null; groupId: string | null; lastRead: string }) =>
  Object.assign(new ReadReceipt(), v);

@Resolver(() => ReadReceipt)
export class ReadReceiptResolver {
  @Authorized()
  @Mutation(() => ReadReceipt, {
    description:
      'Advance (never move back) my read cursor in a conversation. NOT_FOUND "conversation not found" alike for a conversation that ' +
      'is not mine and an id nobody has; BAD_USER_INPUT when upTo is not a message I can see in it.',
  })
  async markRead(@Arg('with', () => ConversationInput) withWhom: ConversationInput, @Arg('upTo', () => ID) upTo: string, @C() ctx: Ctx): Promise<ReadReceipt> {
    const me = requireAuth(ctx).userId;
    await ctx.services.limits.consume('markRead', me);
    return toReceipt(await ctx.services.reads.markRead(me, ref(withWhom), parseId(upTo, 'upTo')));
  }

  @Authorized()
  @Subscription(() => ReadReceipt, {
    topics: 'READ_RECEIPT',
    topicId: ({ context }) => requireAuth(context as Ctx).userId,
  })
  readReceipts(@Root() payload: ReadReceipt, @C() ctx: Ctx): ReadReceipt {
    // A subscription keeps one context for its life: each push resolves profiles afresh.
    ctx.loaders = createLoaders(ctx.services);
    return toReceipt(payload);
  }

  @Authorized()
  @Query(() => MessageReaders, {
    description:
      'For a member of the group now, about a message she can see; else NOT_FOUND "message not found", alike for a group nobody has, ' +
      'a group she is not in and a message she cannot see.',
  })
  async messageReaders(@Arg('groupId', () => ID) groupId: string, @Arg('messageId', () => ID) messageId: string, @C() ctx: Ctx): Promise<MessageReaders> {
    const r = await ctx.services.reads.readers(requireAuth(ctx).userId, parseId(groupId, 'groupId'), parseId(messageId, 'messageId'));
    const users = async (ids: string[]) => (await ctx.loaders.user.loadMany(ids)).filter((u): u is User => u instanceof User);
    return { read: await users(r.read), unread: await users(r.unread) };
  }

  @FieldResolver(() => User)
  async reader(@Root() r: ReadReceipt, @C() ctx: Ctx): Promise<User> {
    const u = await ctx.loaders.user.load(r.readerId);
    if (!u) throw notFound('reader');
    return u;
  }
}

@Resolver(() => Conversation)
export class ConversationResolver {
  @Authorized()
  @Query(() => [Conversation])
  async conversations(@C() ctx: Ctx): Promise<Conversation[]> {
    const list = await ctx.services.conversations.list(requireAuth(ctx).userId);
    return list.map(({ lastMessage, ...v }) => Object.assign(new Conversation(), { ...v, lastMessageRow: lastMessage }));
  }

  @FieldResolver(() => User, { nullable: true })
  peer(@Root() c: Conversation, @C() ctx: Ctx): Promise<User | null> | null {
    return c.peerId ? ctx.loaders.user.load(c.peerId) : null;
  }

  @FieldResolver(() => Group, { nullable: true })
  group(@Root() c: Conversation, @C() ctx: Ctx): Promise<Group | null> | null {
    return c.groupId ? ctx.loaders.group.load(c.groupId) : null;
  }

  @FieldResolver(() => Message, { nullable: true })
  lastMessage(@Root() c: Conversation): Message | null {
    return c.lastMessageRow ? messageFromRow(c.lastMessageRow) : null;
  }
}
