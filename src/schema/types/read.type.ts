import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { MessageRow } from '../../delivery/message-source';
import { User } from '../../entities';

@ObjectType({ simpleResolvers: true })
export class ReadReceipt {
  readerId!: string;

  @Field(() => ID, { nullable: true, description: 'Set for a one-to-one conversation: the user whose messages were read.' })
  peerId!: string | null;

  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => ID)
  lastRead!: string;
}

@ObjectType({ simpleResolvers: true })
export class MessageReaders {
  @Field(() => [User])
  read!: User[];

  @Field(() => [User])
  unread!: User[];
}

@ObjectType({ simpleResolvers: true })
export class Conversation {
  peerId!: string | null;
  groupId!: string | null;
  lastMessageRow!: MessageRow | null;

  @Field(() => Int)
  unreadCount!: number;

  @Field(() => ID, { nullable: true })
  myLastRead!: string | null;

  @Field(() => ID, { nullable: true, description: 'For one-to-one conversations: the last message of mine the peer has read.' })
  peerLastRead!: string | null;
}
