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

@ObjectType({
  simpleResolvers: true,
  description:
    "A group message's audience, its sender left out. " +
    'Someone who could not see it (she joined after it, or it was sent while she was out of the group), and a deleted account, is in neither list.',
})
export class MessageReaders {
  @Field(() => [User], { description: 'Everyone whose membership windows hold the message and whose lastRead is at or above it, members now or not.' })
  read!: User[];

  @Field(() => [User], { description: 'Members now whose windows hold the message and who have not read up to it (a former member can no longer read it).' })
  unread!: User[];
}

@ObjectType({ simpleResolvers: true })
export class Conversation {
  peerId!: string | null;
  groupId!: string | null;
  lastMessageRow!: MessageRow | null;

  @Field(() => Int, {
    description:
      'Messages I could see (inside any of my membership windows, earlier ones included) above my lastRead. ' +
      'Messages sent while I was out of a group never count; my own sends move my lastRead.',
  })
  unreadCount!: number;

  @Field(() => ID, { nullable: true })
  myLastRead!: string | null;

  @Field(() => ID, { nullable: true, description: "For one-to-one conversations: the peer's read cursor, the last message of the conversation she has read (her own sends count as read). My messages with ids up to it are read." })
  peerLastRead!: string | null;
}
