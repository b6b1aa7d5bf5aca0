// D10 over every interleaving of 3 messages (ids allocated in send order,
// committed in any order), their push outcomes, one disconnect + reconnect,
// and paged sync reads/acks; each deliberately broken rule set must be caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type RuleSet, type SyncAckResult, clampUpTo, correctRules, syncAck } from '../../src/delivery/rules';
import { type ModelRules, check, formatViolation } from './model/checker';

const decided: ModelRules = { name: 'correctRules', rules: correctRules };

// Each broken variant changes one rule of the correct set, so a violation is
// due to that change alone.

// (i) The predecessor's JS read-modify-write: same rules, non-atomic writes.
const readModifyWrite: ModelRules = { ...decided, name: 'read-modify-write', readModifyWrite: true };

// (ii) No offline fence: a device's first live success skips its offline backlog.
const noFenceRules: RuleSet = { ...correctRules, fence: (c) => c };
const noFence: ModelRules = { ...decided, name: 'no offline fence', rules: noFenceRules };

// (iii) A sync ack that trusts any token: never stale, whatever happened since the read.
const trustingRules: RuleSet = {
  ...correctRules,
  syncAck: (c, token, upTo) => syncAck(c, { ...token, version: c.version, present: true }, upTo, true),
};
const trustingAck: ModelRules = { ...decided, name: 'sync ack ignores the token', rules: trustingRules };

// (iii-b) Only the version check dropped: D13a's late lower failure gets wiped.
const versionBlindRules: RuleSet = {
  ...correctRules,
  syncAck: (c, token, upTo, presentNow) => syncAck(c, { ...token, version: c.version }, upTo, presentNow),
};
const versionBlind: ModelRules = { ...decided, name: 'sync ack ignores the version', rules: versionBlindRules };

// (iv) D13b dropped: every page treated as the last. Needs pages of 1 to leave two ids unread.
const hasMoreBlindRules: RuleSet = {
  ...correctRules,
  syncAck: (c, token, upTo, presentNow) => syncAck(c, { ...token, hasMore: false }, token.maxId, presentNow),
};
const hasMoreBlind: ModelRules = { ...decided, name: 'sync ack ignores hasMore', rules: hasMoreBlindRules };

// (v) D13e dropped: an ack without a live socket moves lastAck with no check after it.
const uncheckedRules: RuleSet = { ...correctRules, verifyAck: (c) => c };
const unchecked: ModelRules = { ...decided, name: 'socketless ack without the late-commit check', rules: uncheckedRules };

// (vi) The rule before D13e: an ack without a live socket is refused (no reason), always.
const refuseAbsentRules: RuleSet = {
  ...correctRules,
  syncAck: (c, token, upTo, presentNow): SyncAckResult => {
    if (token.present && presentNow) return syncAck(c, token, upTo, presentNow);
    return clampUpTo(token, upTo) <= c.lastAck ? { cursor: c, accepted: true } : { cursor: c, accepted: false };
  },
};
const refuseAbsent: ModelRules = { ...decided, name: 'socketless ack refused', rules: refuseAbsentRules };

function assertHolds(m: ModelRules, opts = {}): void {
  const r = check(m, opts);
  if (r.violation) assert.fail(formatViolation(m.name, r.violation));
  assert.ok(r.states > 1000, `explored only ${r.states} states`);
}

function assertCaught(m: ModelRules, opts = {}): void {
  const r = check(m, opts);
  assert.notEqual(r.violation, null, `${m.name}: no violation in ${r.states} states (model too weak)`);
  console.log(formatViolation(m.name, r.violation!));
}

// D10
test('D10: the correct rules hold over every interleaving', () => {
  assertHolds(decided);
  assertHolds(decided, { syncLimit: 1 });
});

// D10, D7: an offline outcome that records nothing even below lastAck loses a
// late-committing lower id when the device leaves before its job runs.
test('D10: rules without the offline late-commit guard are caught', () => {
  assertCaught({ ...decided, name: 'no offline guard', rules: { ...correctRules, offline: (c) => c } });
});

// D10, D8/D9 applied atomically
test('D10: read-modify-write cursor updates are caught (lost update)', () => {
  assertCaught(readModifyWrite);
});

// D10, D7
test('D10: rules without the offline fence are caught', () => {
  assertCaught(noFence);
});

// D10, D13a
test('D10: a sync ack that ignores the token is caught', () => {
  assertCaught(trustingAck);
});

// D10, D13a
test('D10: a sync ack that ignores only the version is caught', () => {
  assertCaught(versionBlind);
});

// D10, D13b
test('D10: a sync ack that ignores hasMore is caught', () => {
  assertCaught(hasMoreBlind, { syncLimit: 1 });
});

// D10, D13e: a device that never opens a socket; offline outcomes record only the late-commit guard.
test('D10: the correct rules hold for a socketless device over every interleaving', () => {
  assertHolds(decided, { socketless: true });
  assertHolds(decided, { socketless: true, syncLimit: 1 });
  assertHolds(decided, { socketless: true, messages: 4 });
});

// D10, D13e: id 1 commits after the read of [2], its guard runs before the ack (records
// nothing), and the ack moves lastAck over it: the loss the check after the write prevents.
test('D10: a socketless ack without the late-commit check is caught', () => {
  assertCaught(unchecked, { socketless: true });
  assertCaught(unchecked);
});

// D13e: the rule before it never lets an HTTP-only catch-up finish (no progress, ever).
test('D10: refusing every socketless ack never completes a catch-up', () => {
  const r = check(refuseAbsent, { socketless: true });
  assert.match(r.violation?.message ?? '', /no progress/);
});
