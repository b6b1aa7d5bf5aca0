import Long from 'long';
import { im } from '../wire/im';
import type { RemoteConnection } from './presence';

/** Job payloads carry ids only, encoded with proto/im.proto (D5). */
export interface DeliveryJobData {
  messageId: string;
  receiverId: string;
  originDeviceId: string;
  /** The receiver's live connections when the delivery was planned; none: the job reads presence. */
  holders: RemoteConnection[];
}

export interface DeliveryBatch {
  items: DeliveryJobData[];
  plannedAt: number;
}

export interface FanoutJobData {
  messageId: string;
  groupId: string;
  senderId: string;
  originDeviceId: string;
  receiverIds: string[];
}

export interface AckFrameData {
  userId: string;
  deviceId: string;
  messageIds: string[];
}

/** What bee-queue stores: JSON with the protobuf bytes as base64. */
export type Encoded = { p: string };

const u64 = (s: string) => Long.fromString(s, true);
const str = (v: number | Long | null | undefined) => (v == null ? '0' : v.toString());
const b64 = (bytes: Uint8Array): Encoded => ({ p: Buffer.from(bytes).toString('base64') });
const bytes = (e: Encoded) => Buffer.from(e.p, 'base64');

export const encodeDeliveries = (b: DeliveryBatch): Encoded =>
  b64(
    im.DeliveryJobs.encode({
      plannedAt: Long.fromNumber(b.plannedAt),
      items: b.items.map((d) => ({
        messageId: u64(d.messageId),
        receiverId: u64(d.receiverId),
        originDeviceId: d.originDeviceId,
        holders: d.holders.map((h) => ({ nodeId: h.nodeId, connectionId: h.connectionId, deviceId: h.deviceId })),
      })),
    }).finish(),
  );

export function decodeDeliveries(e: Encoded): DeliveryBatch {
  const j = im.DeliveryJobs.decode(bytes(e));
  return {
    plannedAt: Number(j.plannedAt ?? 0),
    items: j.items.map((d) => {
      const receiverId = str(d.receiverId);
      return {
        messageId: str(d.messageId),
        receiverId,
        originDeviceId: d.originDeviceId ?? '',
        holders: (d.holders ?? []).map((h) => ({ nodeId: h.nodeId ?? '', connectionId: h.connectionId ?? '', deviceId: h.deviceId ?? '', userId: receiverId })),
      };
    }),
  };
}

export const encodeFanout = (d: FanoutJobData): Encoded =>
  b64(
    im.FanoutJob.encode({
      messageId: u64(d.messageId),
      groupId: u64(d.groupId),
      senderId: u64(d.senderId),
      originDeviceId: d.originDeviceId,
      receiverIds: d.receiverIds.map(u64),
    }).finish(),
  );

export function decodeFanout(e: Encoded): FanoutJobData {
  const j = im.FanoutJob.decode(bytes(e));
  return {
    messageId: str(j.messageId),
    groupId: str(j.groupId),
    senderId: str(j.senderId),
    originDeviceId: j.originDeviceId,
    receiverIds: j.receiverIds.map(str),
  };
}

export const encodeAck = (d: AckFrameData): Buffer =>
  Buffer.from(im.AckFrame.encode({ userId: u64(d.userId), deviceId: d.deviceId, messageIds: d.messageIds.map(u64) }).finish());

export function decodeAck(b: Buffer): AckFrameData {
  const j = im.AckFrame.decode(b);
  return { userId: str(j.userId), deviceId: j.deviceId, messageIds: j.messageIds.map(str) };
}
