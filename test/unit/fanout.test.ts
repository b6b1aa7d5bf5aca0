import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ackKey, deliveryJobId, fanoutJobId, matchAcks, planFanout } from '../../src/delivery/rules';

// D5
test('batches are bounded and cover every member once, sender included', () => {
  const members = Array.from({ length: 10 }, (_, i) => String(i + 1));
  const batches = planFanout(members, '3', 3);
  assert.deepEqual(batches.map((b) => b.length), [3, 3, 3, 1]);
  assert.deepEqual(batches.flat(), members);
  assert.deepEqual(planFanout(members, '3', 100), [members]);
  assert.deepEqual(planFanout(members, '3', 1).length, 10);
});

// D12: the sender's other devices must get the message too.
test('the sender is a recipient even when missing from the member list', () => {
  assert.deepEqual(planFanout(['2'], '1', 10), [['1', '2']]);
  assert.deepEqual(planFanout([], '1', 10), [['1']]);
});

// D5
test('duplicates are removed', () => {
  assert.deepEqual(planFanout(['5', '2', '5', '2', '9'], '2', 2), [['2', '5'], ['9']]);
});

// D3: a retry may list members in another order and must plan the same batches.
test('the plan is deterministic whatever the input order', () => {
  const a = planFanout(['10', '9', '100', '1', '2'], '9', 2);
  const b = planFanout(['2', '1', '100', '9', '10', '2'], '9', 2);
  assert.deepEqual(a, b);
  assert.deepEqual(a, [['1', '2'], ['9', '10'], ['100']], 'numeric order for decimal ids');
});

test('batchSize must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => planFanout(['1'], '1', bad), RangeError);
});

// D3, D5
test('job ids are deterministic', () => {
  assert.equal(deliveryJobId('123', '7'), 'd:123:7');
  assert.equal(deliveryJobId('123', '7'), deliveryJobId('123', '7'));
  assert.equal(fanoutJobId('123', 0), 'f:123:0');
  assert.equal(fanoutJobId('123', 4), 'f:123:4');
  assert.notEqual(deliveryJobId('12', '37'), deliveryJobId('123', '7'));
});

// D6: an ack resolves only the pushes to the very device that sent it.
test('acks match pending pushes of the same device only', () => {
  const pending = new Set([ackKey('u1', 'd1', 10n), ackKey('u1', 'd1', 11n), ackKey('u1', 'd2', 10n), ackKey('u2', 'd1', 10n)]);
  assert.deepEqual(matchAcks(pending, 'u1', 'd1', ['10', '11', '12']), [ackKey('u1', 'd1', '10'), ackKey('u1', 'd1', '11')]);
  assert.deepEqual(matchAcks(pending, 'u1', 'd3', ['10']), []);
  assert.deepEqual(matchAcks(pending, 'u3', 'd1', ['10']), []);
  assert.deepEqual(matchAcks(pending, 'u1', 'd2', ['10', '10']), [ackKey('u1', 'd2', 10n)], 'once each');
});

test('ack keys are canonical and unambiguous', () => {
  assert.equal(ackKey('u', 'd', '007'), ackKey('u', 'd', 7n));
  assert.notEqual(ackKey('a:b', 'c', '1'), ackKey('a', 'b:c', '1'));
  assert.notEqual(ackKey('u', 'd', 'x1'), ackKey('u', 'd', '1'));
});
