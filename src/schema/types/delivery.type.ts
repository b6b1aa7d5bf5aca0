import { Field, ObjectType, registerEnumType } from 'type-graphql';
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

  @Field(() => String, {
    description:
      'Pass back to acknowledgeSync; it goes stale when a delivery failure or fence is recorded after this batch was read. Works with or without a messages subscription.',
  })
  syncToken!: string;
}

/** Why acknowledgeSync refused (the engine's AckRefusal); the client's answer to each is to sync again. */
export enum AckRefusal {
  STALE = 'STALE',
  LATE_COMMIT = 'LATE_COMMIT',
}
registerEnumType(AckRefusal, {
  name: 'AckRefusal',
  description: 'Why acknowledgeSync answered accepted: false. Either way: call sync again and acknowledge the new batch (duplicates dedupe by id).',
  valuesConfig: {
    STALE: { description: 'A delivery failure or a fence (a socket of this device attached or went) was recorded after the batch was read.' },
    LATE_COMMIT: {
      description: 'This device had no live socket, and a message with an id inside the batch was stored after the batch was read: the cursor stays where the read started.',
    },
  },
});

@ObjectType({ simpleResolvers: true })
export class AckState {
  @Field(() => Boolean, { description: 'False when acknowledgeSync could not confirm the batch (see reason): call sync again (duplicates are fine, ids dedupe).' })
  accepted!: boolean;

  @Field(() => AckRefusal, { nullable: true, description: 'Why accepted is false; null when it is true.' })
  reason?: AckRefusal | null;

  /** The device's cursor, read only if a client selects lastAck or lastAckErr (see AckStateResolver). */
  cursor!: () => Promise<Cursor>;
}
