import { type GraphQLResolveInfo, Kind } from 'graphql';
import { Arg, Authorized, Ctx as C, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { AckRefusal as Refusal, Cursor } from '../delivery/rules';
import { User } from '../entities';
import { messageFromRow, messageToBase64 } from '../entities/message.convert';
import { Message } from '../entities/message.entity';
import { badInput, notFound } from '../errors';
import { type Ctx, requireAuth } from '../schema/context';
import { createLoaders } from '../schema/loaders';
import { parseCursorId, parseId, parseIds } from '../schema/ids';
import { ConversationInput, SendMessageInput } from '../schema/inputs/message.input';
import { AckRefusal, AckState, MessagePage, SyncBatch } from '../schema/types/delivery.type';

/** The cursor is read at most once, and only when a client asks for it. */
function ackState(accepted: boolean, read: () => Promise<Cursor>, reason?: Refusal): AckState {
  let cursor: Promise<Cursor> | undefined;
  return Object.assign(new AckState(), { accepted, reason: reason ? AckRefusal[reason] : null, cursor: () => (cursor ??= read()) });
}

@Resolver(() => AckState)
export class AckStateResolver {
  @FieldResolver(() => ID, { nullable: true })
  async lastAck(@Root() s: AckState): Promise<string> {
    return (await s.cursor()).lastAck.toString();
  }

  @FieldResolver(() => ID, { nullable: true })
  async lastAckErr(@Root() s: AckState): Promise<string | null> {
    return (await s.cursor()).lastAckErr?.toString() ?? null;
  }
}

/** True when every selection under this field is `id` or `__typename` (no fragments). */
function asksOnlyId(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.every((node) =>
    (node.selectionSet?.selections ?? []).every((s) => s.kind === Kind.FIELD && (s.name.value === 'id' || s.name.value === '__typename')),
  );
}

function conversation(input: ConversationInput): { userId?: string; groupId?: string } {
  if (!input.userId === !input.groupId) throw badInput('exactly one of userId and groupId');
  return input.userId ? { userId: parseId(input.userId, 'userId') } : { groupId: parseId(input.groupId!, 'groupId') };
}

@Resolver(() => Message)
export class MessageResolver {
  @Authorized()
  @Mutation(() => Message, {
    description:
      "Stores the message once and returns it: this return is the sender's delivery receipt. To a user: NOT_FRIENDS alike for a " +
      'non-friend, an id nobody has and a friend who blocked the sender (a block is never told). To a group: NOT_FOUND "group not found" ' +
      'alike for a group nobody has and one the sender is not a member of.',
  })
  // MessageService checks the input in full (D1, in code points), so class-validator does not run twice.
  async sendMessage(@Arg('input', () => SendMessageInput, { validate: false }) input: SendMessageInput, @C() ctx: Ctx): Promise<Message> {
    const auth = requireAuth(ctx);
    await ctx.services.limits.consume('sendBurst', auth.userId);
    await ctx.services.limits.consume('sendSustained', auth.userId);
    const row = await ctx.services.messages.send(auth, { ...input, to: conversation(input.to) });
    return messageFromRow(row);
  }

  @Authorized()
  @Mutation(() => AckState, { description: 'This device received these pushed messages.' })
  async acknowledge(@Arg('messageIds', () => [ID], { validate: false }) messageIds: string[], @C() ctx: Ctx): Promise<AckState> {
    const auth = requireAuth(ctx);
    if (messageIds.length > 500) throw badInput('at most 500 ids per acknowledge');
    await ctx.services.engine.acknowledge(auth.userId, auth.deviceId, parseIds(messageIds, 'messageIds'));
    return ackState(true, () => ctx.services.engine.cursor(auth.userId, auth.deviceId));
  }

  @Authorized()
  @Mutation(() => AckState, {
    description:
      'This device holds every message of a sync batch up to upTo (clamped to the batch; for an empty batch any id, "0" included, acknowledges exactly what was read). With or without a messages subscription: accepted: false comes with a reason, and the answer to it is to sync again.',
  })
  async acknowledgeSync(
    @Arg('upTo', () => ID, { description: 'The id of the last message of the batch this device holds; "0" or any id for an empty batch.' }) upTo: string,
    @Arg('syncToken', () => String) syncToken: string,
    @C() ctx: Ctx,
  ): Promise<AckState> {
    const auth = requireAuth(ctx);
    const r = await ctx.services.engine.syncAck(auth.userId, auth.deviceId, BigInt(parseCursorId(upTo, 'upTo')), syncToken);
    return ackState(r.accepted, async () => r.cursor, r.reason);
  }

  @Authorized()
  @Query(() => SyncBatch, { description: 'Offline catch-up for this device.' })
  async sync(@Arg('limit', () => Int, { nullable: true, defaultValue: 200 }) limit: number | null, @C() ctx: Ctx): Promise<SyncBatch> {
    const auth = requireAuth(ctx);
    if (limit !== null && limit < 1) throw badInput('limit must be at least 1');
    const b = await ctx.services.engine.syncRead(auth.userId, auth.deviceId, limit ?? 200);
    return { messages: b.messages.map(messageFromRow), hasMore: b.hasMore, syncToken: b.syncToken };
  }

  @Authorized()
  @Query(() => MessagePage, {
    description:
      'Scroll back (before) or fill a gap (afterSeq) in one conversation. In a group: the messages of all my membership windows, ' +
      'so seqs of messages sent while I was out of the group are skipped and are no gap to fill. A conversation that is not mine ' +
      '(a user or group I never talked in) or an id nobody has reads as an empty conversation.',
  })
  async history(
    @Arg('with', () => ConversationInput) withWhom: ConversationInput,
    @Arg('before', () => ID, { nullable: true }) before: string | null,
    @Arg('afterSeq', () => Int, { nullable: true }) afterSeq: number | null,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 50 }) limit: number | null,
    @C() ctx: Ctx,
  ): Promise<MessagePage> {
    const auth = requireAuth(ctx);
    if (limit !== null && limit < 1) throw badInput('limit must be at least 1');
    if (afterSeq !== null && afterSeq < 0) throw badInput('afterSeq must not be negative');
    const page = await ctx.services.messages.history(auth.userId, conversation(withWhom), {
      before: before ? parseId(before, 'before') : null,
      afterSeq,
      limit: limit ?? 50,
    });
    return { messages: page.messages.map(messageFromRow), hasMore: page.hasMore };
  }

  @Authorized()
  @Subscription(() => Message, {
    description: 'Pushed messages for this device; acknowledge each one.',
    subscribe: ({ context }) => {
      const ctx = context as Ctx;
      const auth = requireAuth(ctx);
      if (!ctx.connectionId) throw badInput('subscribe over the WebSocket transport');
      // Not an async generator: its return() would wait for a next() that may never come,
      // and the stream's end is what marks the device absent.
      return ctx.services.engine.open({ connectionId: ctx.connectionId, userId: auth.userId, deviceId: auth.deviceId }, messageFromRow);
    },
  })
  messages(@Root() message: Message, @C() ctx: Ctx): Message {
    // A subscription keeps one context for its life: each push resolves profiles afresh.
    ctx.loaders = createLoaders(ctx.services);
    return message;
  }

  @FieldResolver(() => User)
  sender(@Root() m: Message, @C() ctx: Ctx, @Info() info: GraphQLResolveInfo): User | Promise<User> {
    // Pushes and sync pages usually ask for the sender's id only: no profile read for that, and
    // no promise either (graphql then awaits every message of a page).
    if (asksOnlyId(info)) return { id: m.senderId } as User;
    return ctx.loaders.user.load(m.senderId).then((u) => {
      if (!u) throw notFound('sender');
      return u;
    });
  }

  @FieldResolver(() => String, { description: 'Base64 of this message encoded with the Message type of proto/im.proto.' })
  protobuf(@Root() m: Message): string {
    return messageToBase64(m);
  }
}
