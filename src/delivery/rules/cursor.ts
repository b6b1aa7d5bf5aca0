// Pure rules for the per-(user, device) ack cursor (D7-D13).
// The SQL layer turns each into one atomic UPDATE; these functions are the
// reference the statements and the model checker are held to.
import { batchDigest, lateCommitted } from './late-commit';

/** The MessageAck row of one (user, device). */
export interface Cursor {
  readonly lastAck: bigint;
  readonly lastAckErr: bigint | null;
  /** Bumped by every failure and every fence, so a sync token read before either goes stale. */
  readonly version: number;
}

/** What a sync read hands the client (signed by sync-token.ts) and gets back at acknowledgeSync. */
export interface SyncTokenFields {
  readonly userId: string;
  readonly deviceId: string;
  /** lastAck when the batch was read. */
  readonly readLastAck: bigint;
  /** Largest id in the batch, or readLastAck when the batch is empty. */
  readonly maxId: bigint;
  /** Cursor version when the batch was read. */
  readonly version: number;
  /** The device had a live subscription when the batch was read. */
  readonly present: boolean;
  readonly hasMore: boolean;
  /** How many messages the batch holds (-1: a token from before this field; it never verifies). */
  readonly count: number;
  /** batchDigest of the batch's ids: what an ack without a live socket checks the ids visible then against (D13e). */
  readonly digest: string;
}

/**
 * Why acknowledgeSync refused; the client's answer to both is to sync again
 * (duplicates dedupe by id). STALE: a failure or fence (a socket attached or
 * left) was recorded after the read. LATE_COMMIT: an ack without a live
 * socket found a message inside the batch's range that committed after the
 * read (D13e).
 */
export type AckRefusal = 'STALE' | 'LATE_COMMIT';

export interface SyncAckResult {
  readonly cursor: Cursor;
  readonly accepted: boolean;
  /** Set when accepted is false. */
  readonly reason?: AckRefusal;
  /**
   * Set when the ack moved lastAck for a device without a live socket (token
   * or now): the caller must, after writing the cursor, read the ids visible
   * then and apply verifyAck (D13e) before it answers.
   */
  readonly verify?: true;
}

/** The token fields a read can know by itself; the caller adds userId, deviceId and present. */
export interface SyncReadResult {
  readonly ids: bigint[];
  readonly readLastAck: bigint;
  readonly maxId: bigint;
  readonly version: number;
  readonly hasMore: boolean;
  readonly count: number;
  readonly digest: string;
}

/** The rules as one value, so the model checker can run deliberately broken variants. */
export interface RuleSet {
  failure(c: Cursor, m: bigint): Cursor;
  success(c: Cursor, m: bigint): Cursor;
  fence(c: Cursor): Cursor;
  offline(c: Cursor, m: bigint): Cursor;
  syncAck(c: Cursor, token: SyncTokenFields, upTo: bigint, presentNow: boolean): SyncAckResult;
  /** D13e: the second half of an ack that returned verify, given the ids visible after its write. */
  verifyAck(c: Cursor, token: SyncTokenFields, visibleNow: readonly bigint[]): Cursor;
}

export const initialCursor: Cursor = Object.freeze({ lastAck: 0n, lastAckErr: null, version: 0 });

/** D8. Every failure bumps version, even one that changes nothing else: a token read before it must not wipe it. */
export function failure(c: Cursor, m: bigint): Cursor {
  return {
    lastAck: m <= c.lastAck ? m - 1n : c.lastAck,
    lastAckErr: c.lastAckErr === null || m < c.lastAckErr ? m : c.lastAckErr,
    version: c.version + 1,
  };
}

/** D9. Never moves lastAck backwards, and never over a recorded failure or fence. */
export function success(c: Cursor, m: bigint): Cursor {
  if (m > c.lastAck && (c.lastAckErr === null || m < c.lastAckErr)) {
    return { lastAck: m, lastAckErr: c.lastAckErr, version: c.version };
  }
  return c;
}

/**
 * D7 (the late-commit guard). An offline outcome writes nothing unless m is
 * at or below lastAck: then lastAck moved past m while m was still
 * uncommitted (a live success of a higher id, or a sync ack), and the device
 * left before m's job ran, so no fence covers m. Record it as a failure.
 * As SQL this is one UPDATE ... WHERE last_ack >= m that matches no row
 * except in that race.
 */
export function offline(c: Cursor, m: bigint): Cursor {
  return m <= c.lastAck ? failure(c, m) : c;
}

/**
 * Two acknowledged pushes of one device as one statement row: success(max).
 * Successes commute and never move lastAckErr, so one by one they leave
 * lastAck at the largest m below the fence. success(max) leaves it exactly
 * there unless a fence lies between the two ids; then it keeps the lower
 * lastAck it had, which only makes the device's next sync longer (the device
 * holds both messages and dedupes by id). It never passes the fence.
 */
export function mergeSuccesses(a: bigint, b: bigint): bigint {
  return a >= b ? a : b;
}

/** One pending late-commit guard of a user: offline(m) on every device but the spared ones. */
export interface Guard {
  m: bigint;
  spared: readonly string[];
}

/**
 * Two guards of one user as one statement row: offline(min m) leaves lastAck
 * and lastAckErr exactly as offline(m1) then offline(m2) would, in either
 * order (the smaller m sets both columns, the larger then no longer applies).
 * A device is spared only if both spared it: guarding a device that is
 * getting m's push is conservative (its cursor waits for its next sync).
 */
export function mergeGuards(a: Guard, b: Guard): Guard {
  const spareB = new Set(b.spared);
  return { m: a.m <= b.m ? a.m : b.m, spared: a.spared.filter((d) => spareB.has(d)) };
}

/**
 * D7. Applied when a subscription attaches (before it is marked present) and
 * when it detaches or its presence lapses: offline pushes record nothing, so
 * no live success may move lastAck until a sync ack has confirmed the backlog.
 */
export function fence(c: Cursor): Cursor {
  const f = c.lastAck + 1n;
  return {
    lastAck: c.lastAck,
    lastAckErr: c.lastAckErr === null || f < c.lastAckErr ? f : c.lastAckErr,
    version: c.version + 1,
  };
}

/** D13d: upTo is clamped to the batch; an empty batch acknowledges exactly what was read, whatever upTo says. */
export function clampUpTo(token: SyncTokenFields, upTo: bigint): bigint {
  return token.maxId === token.readLastAck || upTo > token.maxId ? token.maxId : upTo;
}

/**
 * D13. Confirms the device holds every id in (lastAck, min(upTo, maxId)].
 * Refused (STALE, no change) when a failure or fence was recorded after the
 * read: it may concern a lower id that committed after it (D13a). Success
 * pushes do not bump version, so steady traffic does not starve it (D13c).
 *
 * With a live socket at the read and now, every id committed after the read
 * has a push outcome on record or is held. Without one (an HTTP-only device,
 * or a socket gone since), a lower id that committed after the read may have
 * had its offline outcome (the late-commit guard) run before this write and
 * recorded nothing; so the write is applied all the same and comes back with
 * `verify`: the caller then checks the ids visible after the write against
 * the batch (verifyAck, D13e), which records that id as a failure.
 */
export function syncAck(c: Cursor, token: SyncTokenFields, upTo: bigint, presentNow: boolean): SyncAckResult {
  const u = clampUpTo(token, upTo);
  const stale = c.version !== token.version;
  if (u < c.lastAck || (stale && u === c.lastAck)) return { cursor: c, accepted: true };
  if (stale) return { cursor: c, accepted: false, reason: 'STALE' };
  // Same version: no failure or fence since the read, so every one recorded before it
  // concerns an id the read returned. A complete batch resolves them all; short of the
  // last page the fence sits just above u so a live push cannot skip the next pages (D13b).
  const complete = !token.hasMore && u === token.maxId;
  const cursor = { lastAck: u, lastAckErr: complete ? null : u + 1n, version: c.version };
  const live = token.present && presentNow;
  // An empty range (u at or below what was read) has nothing that could have committed late.
  return live || u <= token.readLastAck ? { cursor, accepted: true } : { cursor, accepted: true, verify: true };
}

/**
 * D13e, the second half of an ack that came back with `verify`, run after
 * its write: when the ids visible now inside the batch's range are not the
 * batch's, an id committed after the read lies at or below the new lastAck
 * with nothing on record for it. Which one is not known (the token carries a
 * digest, not the ids), so it records failure(readLastAck + 1): lastAck goes
 * back to where the read started (never further), and the device syncs again.
 */
export function verifyAck(c: Cursor, token: SyncTokenFields, visibleNow: readonly bigint[]): Cursor {
  return lateCommitted(token, visibleNow) ? failure(c, token.readLastAck + 1n) : c;
}

/** What `sync(limit)` returns given the ids visible to the device: ids > lastAck, ascending, at most limit. */
export function syncRead(c: Cursor, visibleIds: readonly bigint[], limit: number): SyncReadResult {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const after = [...new Set(visibleIds)].filter((id) => id > c.lastAck).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ids = after.slice(0, limit);
  return {
    ids,
    readLastAck: c.lastAck,
    maxId: ids.length > 0 ? ids[ids.length - 1] : c.lastAck,
    version: c.version,
    hasMore: after.length > limit,
    count: ids.length,
    digest: batchDigest(ids),
  };
}

export const correctRules: RuleSet = Object.freeze({ failure, success, fence, offline, syncAck, verifyAck });
