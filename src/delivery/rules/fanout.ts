// Fan-out planning (D5): a group message becomes bounded batches of
// recipients, never one job that awaits every member.

import { createHash } from 'node:crypto';

/**
 * Recipients of a message split into batches of at most batchSize.
 * The sender is included (their other devices must get the message too, D12;
 * the engine skips the sending device itself). Members are deduplicated and
 * sorted, so a re-enqueue (D3) plans the same batches under the same job ids
 * whatever order the member query returned.
 */
export function planFanout(memberIds: readonly string[], senderId: string, batchSize: number): string[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const all = [...new Set([...memberIds, senderId])].sort(compareIds);
  const batches: string[][] = [];
  for (let i = 0; i < all.length; i += batchSize) batches.push(all.slice(i, i + batchSize));
  return batches;
}

/** Numeric order for canonical decimal ids (shorter first), a total order for any other strings. */
function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** D3/D5: the same (message, receiver) always maps to the same job, so a repeat enqueue is a no-op. */
export function deliveryJobId(messageId: string, receiverId: string): string {
  return `d:${messageId}:${receiverId}`;
}

/**
 * The id of a job carrying several deliveries: derived from its (message,
 * receiver) pairs whatever their order, so the same batch planned twice is
 * one job. A single delivery keeps deliveryJobId, which a D3 repeat plans.
 */
export function deliveryBatchJobId(items: ReadonlyArray<{ messageId: string; receiverId: string }>): string {
  if (items.length === 1) return deliveryJobId(items[0].messageId, items[0].receiverId);
  const pairs = items.map((i) => `${i.messageId}:${i.receiverId}`).sort();
  return `db:${createHash('sha256').update(pairs.join(',')).digest('base64url').slice(0, 22)}`;
}

export function fanoutJobId(messageId: string, batchIndex: number): string {
  return `f:${messageId}:${batchIndex}`;
}
