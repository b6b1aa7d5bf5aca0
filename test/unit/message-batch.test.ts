import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BatchRequest, batchMoves, type LockedState, type Placement, placeBatch } from '../../src/services/message-batch';

// Conversations: 10 = users 1:2, 11 = users 1:3 (no conversation yet for 2:3), 20 = a group of 1 and 2.
function state(over: Partial<LockedState> = {}): LockedState {
  return {
    heads: new Map([['10', 5], ['11', 0], ['20', 7]]),
    directConversations: new Map([['1:2', '10'], ['1:3', '11']]),
    groupMembers: new Set(['20|1', '20|2']),
    stored: new Set(),
    allowedDirect: new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ...over,
  };
}
const dm = (from: string, to: string, id: string): BatchRequest => ({ senderId: from, to: { userId: to }, clientMsgId: id });
const gm = (from: string, group: string, id: string): BatchRequest => ({ senderId: from, to: { groupId: group }, clientMsgId: id });

/**
 * What a correct plan must satisfy (D1-D3): only requests the locked state
 * allows are placed, each at most once; per conversation the seqs are
 * head+1, head+2, … with no gap or repeat, in arrival order.
 */
function checkPlan(reqs: BatchRequest[], s: LockedState, plan: Placement[]): string | null {
  const next = new Map(s.heads);
  const seen = new Set<number>();
  for (const p of plan) {
    const r = reqs[p.index];
    if (seen.has(p.index)) return `request ${p.index} placed twice`;
    seen.add(p.index);
    if (s.stored.has(`${r.senderId}|${r.clientMsgId}`)) return `request ${p.index} was already stored (D3)`;
    if (r.to.userId && !s.allowedDirect.has(p.index)) return `request ${p.index} failed D1 but was placed`;
    if (r.to.groupId && !s.groupMembers.has(`${r.to.groupId}|${r.senderId}`)) return `request ${p.index}: sender not a member`;
    const expected = (next.get(p.conversationId) ?? NaN) + 1;
    if (p.seq !== expected) return `request ${p.index}: seq ${p.seq}, expected ${expected} in ${p.conversationId}`;
    next.set(p.conversationId, p.seq);
  }
  for (let i = 1; i < plan.length; i++) if (plan[i].index < plan[i - 1].index) return 'not in arrival order';
  return null;
}

const interleaved = [dm('1', '2', 'a'), gm('2', '20', 'b'), dm('2', '1', 'c'), dm('1', '3', 'd'), gm('1', '20', 'e'), dm('1', '2', 'f')];

// D2
test('a batch gives each conversation head+1, head+2, … in arrival order, across interleaved conversations', () => {
  const plan = placeBatch(interleaved, state());
  assert.deepEqual(
    plan.map((p) => [p.index, p.conversationId, p.seq]),
    [[0, '10', 6], [1, '20', 8], [2, '10', 7], [3, '11', 1], [4, '20', 9], [5, '10', 8]],
  );
  assert.equal(checkPlan(interleaved, state(), plan), null);
});

// D1, D3
test('a request the batch cannot store takes no seq: no conversation yet, failed D1, not a member, already stored', () => {
  const reqs = [dm('2', '3', 'new'), dm('1', '2', 'x'), dm('1', '2', 'blocked'), gm('3', '20', 'outsider'), gm('1', '99', 'no-group'), dm('1', '2', 'again'), dm('1', '2', 'y')];
  const s = state({ allowedDirect: new Set([0, 1, 5, 6]), stored: new Set(['1|again']) });
  const plan = placeBatch(reqs, s);
  assert.deepEqual(plan.map((p) => [p.index, p.seq]), [[1, 6], [6, 7]]);
  assert.equal(checkPlan(reqs, s, plan), null);
});

// D2: heads move to the last seq; each sender's lastRead to their own last message.
test('batch moves: one head per conversation, one lastRead per (conversation, sender)', () => {
  const plan = placeBatch(interleaved, state());
  const moves = batchMoves(interleaved, plan);
  assert.deepEqual(new Map(moves.heads.map((h) => [h.conversationId, h.head])), new Map([['10', 8], ['20', 9], ['11', 1]]));
  assert.deepEqual(
    new Map(moves.reads.map((r) => [`${r.conversationId}|${r.userId}`, r.seq])),
    new Map([['10|1', 8], ['20|2', 8], ['10|2', 7], ['11|1', 1], ['20|1', 9]]),
  );
});

// The checker above catches planners that break the rules.
test('the plan check fails deliberately broken planners', () => {
  const s = state({ allowedDirect: new Set([0, 3, 5]), stored: new Set(['1|d']) });
  const noBump = (reqs: BatchRequest[], st: LockedState) =>
    placeBatch(reqs, st).map((p) => ({ ...p, seq: st.heads.get(p.conversationId)! + 1 }));
  const seqForRefused = (reqs: BatchRequest[], st: LockedState) => {
    const heads = new Map(st.heads);
    return placeBatch(reqs, { ...st, allowedDirect: new Set(reqs.map((_, i) => i)) }).map((p) => {
      const seq = heads.get(p.conversationId)! + 1;
      heads.set(p.conversationId, seq);
      return { ...p, seq };
    });
  };
  const ignoresStored = (reqs: BatchRequest[], st: LockedState) => placeBatch(reqs, { ...st, stored: new Set() });
  for (const [name, planner] of [['no head bump', noBump], ['refused requests placed', seqForRefused], ['D3 ignored', ignoresStored]] as const) {
    assert.notEqual(checkPlan(interleaved, s, planner(interleaved, s)), null, name);
  }
  assert.equal(checkPlan(interleaved, s, placeBatch(interleaved, s)), null);
});
