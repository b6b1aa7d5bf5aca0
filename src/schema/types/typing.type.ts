import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'Someone is typing to you (groupId null) or in a group you are in. Best effort, never replayed.' })
export class TypingEvent {
  userId!: string;

  @Field(() => ID, { nullable: true, description: 'The group she types in; null when she types to you directly.' })
  groupId!: string | null;

  @Field(() => Int, { description: 'Show the notice this long (milliseconds) unless another one comes.' })
  ttlMs!: number;
}
