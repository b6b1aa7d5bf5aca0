// D13e: what a sync ack of a device without a live socket checks after its
// write. Such a device records nothing for offline pushes, so an id below the
// batch's largest that committed after the read, and whose late-commit guard
// ran before the ack's write, would be passed over without a trace. The ack
// therefore compares the ids visible after its write with the batch it
// confirms; src/delivery/README.md ("Sync without a socket") has the proof.
import { createHash } from 'node:crypto';
import type { SyncTokenFields } from './cursor';

const DIGEST_BYTES = 16;

/**
 * A fixed-size digest of a batch's ids (ascending, as the sync read returns
 * them), carried in the signed sync token so the ack can tell whether the ids
 * visible later are exactly those of the batch. Not a secret: the token's MAC
 * keeps a client from changing it.
 */
export function batchDigest(ids: readonly bigint[]): string {
  return createHash('sha256').update(ids.join(',')).digest().subarray(0, DIGEST_BYTES).toString('base64url');
}

/**
 * Whether the ids visible to the device after the ack's write, inside the
 * batch's range (readLastAck, maxId], differ from the batch's: then an id
 * committed after the read (or one left the user's view, which only costs a
 * re-read). `visibleNow`: ids above token.readLastAck, ascending; the first
 * count + 1 of them suffice.
 */
export function lateCommitted(token: SyncTokenFields, visibleNow: readonly bigint[]): boolean {
  const inRange = visibleNow.filter((id) => id > token.readLastAck && id <= token.maxId);
  return inRange.length !== token.count || batchDigest(inRange) !== token.digest;
}
