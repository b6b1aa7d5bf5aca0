import { Field, ObjectType } from 'type-graphql';
import type { Cursor } from '../../delivery/rules';
import { Message } from '../../entities/message.entity';

@ObjectType({ simpleResolvers: true })
export class MessagePage {
  @Field(() => [Message])
  messages!: Message[];

  @Field(() => Boolean)
  hasMore!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class SyncBatch {
  @Field(() => [Message], {
    description:
      "Messages of all this user's conversations with id > the device's lastAck, oldest first: in a group, those inside any of her " +
      'membership windows (every stretch she was a member, even if she left or was removed since), never those sent while she was out.',
  })
  messages!: Message[];

  @Field(() => Boolean)
  hasMore!: boolean;

  @Field(() => String, { description: 'Pass back to acknowledgeSync; it goes stale when a delivery failure is recorded after this batch was read.' })
  syncToken!: string;
}

@ObjectType({ simpleResolvers: true })
export class AckState {
  @Field(() => Boolean, { description: 'False when acknowledgeSync found its syncToken stale: call sync again (duplicates are fine, ids dedupe).' })
  accepted!: boolean;

  /** The device's cursor, read only if a client selects lastAck or lastAckErr (see AckStateResolver). */
  cursor!: () => Promise<Cursor>;
}
