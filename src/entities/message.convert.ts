import Long from 'long';
import { im } from '../wire/im';
import type { MessageRow } from '../delivery/message-source';
import type { Message } from './message.entity';

/**
 * The one converter between storage rows, the JSON that crosses Redis in a
 * push, and the protobuf wire form (proto/im.proto).
 */
export type { MessageRow };

const str = (v: string | null) => (v === null ? null : String(v));

/**
 * A plain object, not an entity instance: GraphQL only reads its fields, and
 * MikroORM's property hooks on entity instances cost more than the read on a
 * sync page of 500 messages.
 */
export function messageFromRow(r: MessageRow): Message {
  return {
    id: String(r.id),
    conversationId: String(r.conversation_id),
    seq: Number(r.seq),
    senderId: String(r.sender_id),
    clientMsgId: r.client_msg_id,
    type: Number(r.type),
    receiverId: str(r.receiver_id),
    groupId: str(r.group_id),
    content: r.content,
    ext: r.ext,
    createdAt: r.created_at,
  };
}

const u64 = (s: string) => Long.fromString(s, true);

export function messageToProto(m: Message): Uint8Array {
  return im.Message.encode({
    id: u64(m.id),
    seq: m.seq,
    clientMsgId: m.clientMsgId,
    type: m.type,
    senderId: u64(m.senderId),
    receiverId: u64(m.receiverId ?? '0'),
    groupId: u64(m.groupId ?? '0'),
    content: m.content,
    ext: m.ext ?? '',
    createdAt: m.createdAt.getTime(),
  }).finish();
}

export const messageToBase64 = (m: Message) => Buffer.from(messageToProto(m)).toString('base64');
