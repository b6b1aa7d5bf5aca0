// Which waiting pushes an `acknowledge` resolves (D6, D20). Keys name the
// exact device: an ack from a user's other device must not count as delivery
// to this one, or its cursor would move over a message it never got.

/** Canonical decimal for numeric ids, so "007" from a client matches 7n from the job. */
function canonicalMessageId(messageId: string | bigint): string {
  if (typeof messageId === 'bigint') return messageId.toString();
  return /^[0-9]{1,40}$/.test(messageId) ? BigInt(messageId).toString() : messageId;
}

/** JSON array encoding: unambiguous whatever characters the ids contain. */
export function ackKey(userId: string, deviceId: string, messageId: string | bigint): string {
  return JSON.stringify([userId, deviceId, canonicalMessageId(messageId)]);
}

/** The pending keys this device's ack resolves, each once, in the order acked. */
export function matchAcks(
  pendingKeys: ReadonlySet<string>,
  userId: string,
  deviceId: string,
  messageIds: readonly string[],
): string[] {
  const out = new Set<string>();
  for (const id of messageIds) {
    const key = ackKey(userId, deviceId, id);
    if (pendingKeys.has(key)) out.add(key);
  }
  return [...out];
}
