import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Cursor,
  type Guard,
  mergeGuards,
  mergeSuccesses,
  offline,
  type SyncTokenFields,
  correctRules,
  failure,
  fence,
  initialCursor,
  success,
  syncAck,
  syncRead,
  verifyAck,
  lateCommitted,
  batchDigest,
} from '../../src/delivery/rules';

const cur = (lastAck: bigint, lastAckErr: bigint | null, version = 0): Cursor =>
  Object.freeze({ lastAck, lastAckErr, version });

/** A sync read of `visible` by a present device, as the server would sign it. */
function read(c: Cursor, visible: bigint[], limit: number, present = true): { ids: bigint[]; token: SyncTokenFields } {
  const r = syncRead(c, visible, limit);
  return { ids: r.ids, token: { userId: 'u', deviceId: 'd', ...r, present } };
}

test('initial cursor and the rule set', () => {
  assert.deepEqual(initialCursor, { lastAck: 0n, lastAckErr: null, version: 0 });
  assert.equal(correctRules.failure, failure);
  assert.equal(correctRules.success, success);
  assert.equal(correctRules.fence, fence);
  assert.equal(correctRules.syncAck, syncAck);
  assert.equal(correctRules.verifyAck, verifyAck);
});

// D8
test('failure at or below lastAck lowers lastAck to m - 1 and sets err', () => {
  assert.deepEqual(failure(cur(5n, null, 3), 3n), { lastAck: 2n, lastAckErr: 3n, version: 4 });
  assert.deepEqual(failure(cur(5n, null), 5n), { lastAck: 4n, lastAckErr: 5n, version: 1 });
});

// D8
test('failure above lastAck sets err only; a lower err stays', () => {
  assert.deepEqual(failure(cur(5n, null), 7n), { lastAck: 5n, lastAckErr: 7n, version: 1 });
  assert.deepEqual(failure(cur(5n, 9n), 7n), { lastAck: 5n, lastAckErr: 7n, version: 1 });
  assert.deepEqual(failure(cur(5n, 6n), 7n), { lastAck: 5n, lastAckErr: 6n, version: 1 });
});

// D8: a failure that changes nothing else still makes an earlier sync token stale.
test('every failure bumps version', () => {
  const c = cur(5n, 6n, 2);
  const after = failure(c, 8n);
  assert.equal(after.version, 3);
  const { token } = read(c, [6n], 10);
  assert.equal(syncAck(after, token, 6n, true).accepted, false);
});

// D9
test('success moves lastAck forward when nothing blocks it', () => {
  assert.deepEqual(success(cur(5n, null, 2), 7n), { lastAck: 7n, lastAckErr: null, version: 2 });
  assert.deepEqual(success(cur(5n, 9n), 7n), { lastAck: 7n, lastAckErr: 9n, version: 0 });
});

// D9
test('success never moves lastAck backwards', () => {
  const c = cur(5n, null);
  assert.equal(success(c, 3n), c);
  assert.equal(success(c, 5n), c);
});

// D9
test('success is blocked at and above a recorded error', () => {
  const c = cur(5n, 6n);
  assert.equal(success(c, 6n), c);
  assert.equal(success(c, 7n), c);
});

// D8, D9: the rules never write into their input.
test('rules do not mutate the cursor they are given', () => {
  const c = cur(5n, 8n, 1);
  failure(c, 3n);
  success(c, 7n);
  fence(c);
  syncAck(c, read(c, [6n], 10).token, 6n, true);
  assert.deepEqual(c, { lastAck: 5n, lastAckErr: 8n, version: 1 });
});

// D7
test('fence sets err to lastAck + 1 unless a lower err exists, and bumps version', () => {
  assert.deepEqual(fence(cur(5n, null, 1)), { lastAck: 5n, lastAckErr: 6n, version: 2 });
  assert.deepEqual(fence(cur(5n, 9n)), { lastAck: 5n, lastAckErr: 6n, version: 1 });
  assert.deepEqual(fence(cur(5n, 6n)), { lastAck: 5n, lastAckErr: 6n, version: 1 });
});

// D7: an offline push recorded nothing; the fence stops the next live success skipping it.
test('after a fence no live success moves lastAck until a sync ack', () => {
  const c = fence(cur(5n, null));
  assert.equal(success(c, 7n), c);
  const { ids, token } = read(c, [6n, 7n], 10);
  assert.deepEqual(ids, [6n, 7n]);
  const acked = syncAck(c, token, 7n, true);
  assert.deepEqual(acked, { accepted: true, cursor: { lastAck: 7n, lastAckErr: null, version: 1 } });
  assert.equal(success(acked.cursor, 8n).lastAck, 8n);
});

// D7: reconnecting between read and ack leaves a gap the token cannot vouch for.
test('a fence between read and ack makes the token stale', () => {
  const c = fence(cur(0n, null));
  const { token } = read(c, [1n], 10);
  const r = syncAck(fence(c), token, 1n, true);
  assert.equal(r.accepted, false);
});

// D13
test('syncRead returns ids above lastAck, ascending, at most limit', () => {
  const c = cur(2n, 3n, 4);
  assert.deepEqual(syncRead(c, [5n, 1n, 3n, 2n, 4n, 3n], 2), {
    ids: [3n, 4n], readLastAck: 2n, maxId: 4n, version: 4, hasMore: true, count: 2, digest: batchDigest([3n, 4n]),
  });
  assert.deepEqual(syncRead(c, [1n, 3n], 2), { ids: [3n], readLastAck: 2n, maxId: 3n, version: 4, hasMore: false, count: 1, digest: batchDigest([3n]) });
  assert.deepEqual(syncRead(c, [1n], 2), { ids: [], readLastAck: 2n, maxId: 2n, version: 4, hasMore: false, count: 0, digest: batchDigest([]) });
  assert.throws(() => syncRead(c, [], 0), RangeError);
});

// D13a: id 1 commits after the read of [2], then its push fails; the ack must not wipe it.
test('a failure of a lower id committed after the read is not wiped by the sync ack', () => {
  const c = fence(cur(0n, null));
  const { ids, token } = read(c, [2n], 10);
  assert.deepEqual(ids, [2n]);
  const failed = failure(c, 1n);
  const r = syncAck(failed, token, 2n, true);
  assert.equal(r.accepted, false);
  assert.equal(r.cursor, failed);
  assert.deepEqual(syncRead(r.cursor, [1n, 2n], 10).ids, [1n, 2n]);
});

// D13b
test('an ack of a page that is not the last keeps the fence just above upTo', () => {
  const c = fence(cur(0n, null));
  const p1 = read(c, [1n, 2n, 3n], 2);
  assert.equal(p1.token.hasMore, true);
  const a1 = syncAck(c, p1.token, 2n, true);
  assert.deepEqual(a1, { accepted: true, cursor: { lastAck: 2n, lastAckErr: 3n, version: 1 } });
  assert.equal(success(a1.cursor, 4n), a1.cursor, 'a live push must not skip the unread page');
  const p2 = read(a1.cursor, [1n, 2n, 3n, 4n], 2);
  assert.deepEqual(p2.ids, [3n, 4n]);
  const a2 = syncAck(a1.cursor, p2.token, 4n, true);
  assert.deepEqual(a2.cursor, { lastAck: 4n, lastAckErr: null, version: 1 });
});

// D13b: a partial ack of the last page is not the end of the backlog either.
test('an ack below maxId of the last page keeps the fence above upTo', () => {
  const c = fence(cur(0n, null));
  const { token } = read(c, [1n, 2n, 3n], 10);
  assert.deepEqual(syncAck(c, token, 2n, true).cursor, { lastAck: 2n, lastAckErr: 3n, version: 1 });
});

// D13b: a failure above the acked range stays.
test('a failure recorded before the read is resolved only by a batch that covers it', () => {
  const c = failure(cur(0n, null), 2n);
  const page = read(c, [1n, 2n, 3n], 2);
  // Short of the last page: the fence moves to just above upTo, never disappears.
  assert.deepEqual(syncAck(c, page.token, 2n, true).cursor, { lastAck: 2n, lastAckErr: 3n, version: 1 });
  const all = read(c, [1n, 2n, 3n], 10);
  assert.deepEqual(syncAck(c, all.token, 3n, true).cursor, { lastAck: 3n, lastAckErr: null, version: 1 });
});

// D13c: live successes between read and ack do not bump version, so the ack is accepted.
test('success pushes between read and ack do not make the token stale', () => {
  let c = cur(0n, null);
  c = syncAck(c, read(c, [1n], 10).token, 1n, true).cursor; // backlog confirmed, err cleared
  const { token } = read(c, [1n, 2n, 3n], 1);
  for (const m of [4n, 5n, 6n]) c = success(c, m);
  assert.equal(c.lastAck, 6n);
  const r = syncAck(c, token, 2n, true);
  assert.equal(r.accepted, true);
  assert.equal(r.cursor.lastAck, 6n, 'never backwards');
  // Blocked pushes under a fence do not starve the ack either.
  let f = fence(cur(0n, null));
  const t2 = read(f, [1n, 2n], 10).token;
  for (const m of [3n, 4n]) f = success(f, m);
  assert.deepEqual(syncAck(f, t2, 2n, true), { accepted: true, cursor: { lastAck: 2n, lastAckErr: null, version: 1 } });
});

// D13d
test('upTo is clamped to the largest id of the batch', () => {
  const c = fence(cur(0n, null));
  const { token } = read(c, [1n, 2n], 10);
  assert.deepEqual(syncAck(c, token, 99n, true).cursor, { lastAck: 2n, lastAckErr: null, version: 1 });
  // An empty, complete batch confirms there is no backlog: the connect fence goes, so live
  // successes move lastAck again instead of waiting for the next non-empty sync.
  const empty = read(c, [], 10).token;
  assert.deepEqual(syncAck(c, empty, 99n, true), { accepted: true, cursor: { lastAck: 0n, lastAckErr: null, version: 1 } });
});

// D13: acking what is already acked is a harmless no-op, stale token or not.
test('an ack at or below lastAck is accepted without change', () => {
  const c = cur(5n, null, 3);
  const old: SyncTokenFields = { userId: 'u', deviceId: 'd', readLastAck: 1n, maxId: 4n, version: 0, present: false, hasMore: true, count: 3, digest: '' };
  assert.deepEqual(syncAck(c, old, 4n, false), { accepted: true, cursor: c });
});

// D13e: without a live socket (at the read or now) the ack is applied, and asks for the check.
test('a token read while not present, or acked after the subscription went, is applied and must be verified', () => {
  const c = fence(cur(0n, null));
  const absent = read(c, [1n], 10, false).token;
  assert.deepEqual(syncAck(c, absent, 1n, true), { accepted: true, cursor: { lastAck: 1n, lastAckErr: null, version: 1 }, verify: true });
  const present = read(c, [1n], 10).token;
  assert.deepEqual(syncAck(c, present, 1n, false), { accepted: true, cursor: { lastAck: 1n, lastAckErr: null, version: 1 }, verify: true });
  // Nothing above what was read is confirmed, so nothing can have committed late inside it.
  const empty = read(c, [], 10, false).token;
  assert.deepEqual(syncAck(c, empty, 0n, false), { accepted: true, cursor: { lastAck: 0n, lastAckErr: null, version: 1 } });
  // A failure or fence since the read refuses it, with the reason.
  assert.deepEqual(syncAck(fence(c), absent, 1n, false), { accepted: false, reason: 'STALE', cursor: fence(c) });
});

// D13e: the late-commit loss without a socket. Id 1 commits after the read of [2]; its offline
// guard runs before the ack (lastAck 0 < 1: records nothing). The ack moves lastAck to 2; the
// check after it sees id 1 and sends lastAck back to where the read started.
test('verifyAck finds an id committed after the read inside the batch and records a failure', () => {
  const c = cur(0n, null);
  const { token } = read(c, [2n], 10, false);
  const guarded = offline(c, 1n);
  assert.equal(guarded, c, 'the guard ran before the ack: nothing recorded');
  const acked = syncAck(guarded, token, 2n, false);
  assert.equal(acked.verify, true);
  assert.equal(acked.cursor.lastAck, 2n);
  assert.equal(verifyAck(acked.cursor, token, [1n, 2n]).lastAck, 0n);
  assert.deepEqual(verifyAck(acked.cursor, token, [1n, 2n]), { lastAck: 0n, lastAckErr: 1n, version: 1 });
  assert.deepEqual(syncRead(verifyAck(acked.cursor, token, [1n, 2n]), [1n, 2n], 10).ids, [1n, 2n]);
  // Nothing new in the range: the ack stands. Ids above maxId are the next sync's.
  assert.equal(verifyAck(acked.cursor, token, [2n, 3n, 4n]), acked.cursor);
  // An id gone from view (a window closed) only costs a re-read.
  assert.equal(verifyAck(acked.cursor, token, []).lastAck, 0n);
});

test('lateCommitted compares the ids of the range, not a count', () => {
  const { token } = read(cur(3n, null), [4n, 6n], 10, false);
  assert.equal(lateCommitted(token, [4n, 6n, 9n]), false);
  assert.equal(lateCommitted(token, [4n, 5n, 6n]), true, 'one more');
  assert.equal(lateCommitted(token, [4n, 5n]), true, 'same count, other ids');
  assert.equal(lateCommitted({ ...token, count: -1 }, [4n, 6n]), true, 'a token without a digest never verifies');
  assert.notEqual(batchDigest([4n, 6n]), batchDigest([46n]));
  assert.notEqual(batchDigest([4n, 6n]), batchDigest([6n, 4n]));
});

// D13: syncAck never bumps version, so consecutive pages need no re-read.
test('syncAck leaves version unchanged', () => {
  const c = fence(cur(0n, null, 7));
  const { token } = read(c, [1n, 2n], 1);
  assert.equal(syncAck(c, token, 1n, true).cursor.version, 8);
});

// D7: guards of one user waiting together are applied as one (cursor-store's batched guard statement).
test('merged guards leave a device where the guards one by one would, in any order; a broken merge does not', () => {
  const project = (c: Cursor) => `${c.lastAck}/${c.lastAckErr}`;
  const mismatches = (merge: (a: Guard, b: Guard) => Guard) => {
    let bad = 0;
    for (let lastAck = 0n; lastAck <= 5n; lastAck++) {
      for (const lastAckErr of [null, 1n, 2n, 3n, 4n, 5n, 6n]) {
        if (lastAckErr !== null && lastAckErr <= lastAck) continue;
        const c = cur(lastAck, lastAckErr);
        for (let m1 = 1n; m1 <= 6n; m1++) {
          for (let m2 = 1n; m2 <= 6n; m2++) {
            const oneByOne = [offline(offline(c, m1), m2), offline(offline(c, m2), m1)];
            const merged = offline(c, merge({ m: m1, spared: [] }, { m: m2, spared: [] }).m);
            for (const o of oneByOne) if (project(o) !== project(merged)) bad++;
          }
        }
      }
    }
    return bad;
  };
  assert.equal(mismatches(mergeGuards), 0);
  assert.ok(mismatches((a, b) => ({ m: a.m >= b.m ? a.m : b.m, spared: [] })) > 0, 'keeping the larger m loses a failure');
  // Spared devices: only those every guard spared.
  assert.deepEqual(mergeGuards({ m: 3n, spared: ['a', 'b'] }, { m: 5n, spared: ['b', 'c'] }), { m: 3n, spared: ['b'] });
  assert.deepEqual(mergeGuards({ m: 3n, spared: ['a'] }, { m: 5n, spared: [] }).spared, []);
});

// D9: successes of one device waiting together are applied as one (cursor-store's batched success statement).
test('merged successes never pass the fence nor the successes one by one, and match them unless a fence lies between', () => {
  const check = (merge: (a: bigint, b: bigint) => bigint) => {
    let above = 0;
    let short = 0;
    for (let lastAck = 0n; lastAck <= 5n; lastAck++) {
      for (const lastAckErr of [null, 1n, 2n, 3n, 4n, 5n, 6n, 7n]) {
        if (lastAckErr !== null && lastAckErr <= lastAck) continue;
        const c = cur(lastAck, lastAckErr, 2);
        for (let m1 = 1n; m1 <= 7n; m1++) {
          for (let m2 = 1n; m2 <= 7n; m2++) {
            const oneByOne = success(success(c, m1), m2);
            assert.deepEqual(oneByOne, success(success(c, m2), m1), 'successes commute');
            const merged = success(c, merge(m1, m2));
            assert.equal(merged.lastAckErr, c.lastAckErr);
            assert.equal(merged.version, c.version);
            if (merged.lastAck > oneByOne.lastAck) above++;
            const fenceBetween = lastAckErr !== null && (m1 < lastAckErr) !== (m2 < lastAckErr);
            if (!fenceBetween && merged.lastAck !== oneByOne.lastAck) short++;
          }
        }
      }
    }
    return { above, short };
  };
  assert.deepEqual(check(mergeSuccesses), { above: 0, short: 0 });
  assert.ok(check((a, b) => (a <= b ? a : b)).short > 0, 'keeping the smaller id throws progress away');
  assert.ok(check((a, b) => a + b).above > 0, 'a made-up id passes what the device acknowledged');
});
