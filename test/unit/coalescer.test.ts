import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/delivery/coalescer';
import { deliveryBatchJobId, deliveryJobId } from '../../src/delivery/rules';

test('items added in one turn go in one call; items added during a call go in the next', async () => {
  const calls: number[][] = [];
  let release!: () => void;
  const c = new Coalescer<number>(async (items) => {
    calls.push(items);
    if (calls.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = [c.add([1, 2]), c.add([3])];
  await new Promise((r) => setImmediate(r));
  const second = [c.add([4]), c.add([5, 6])];
  release();
  await Promise.all([...first, ...second]);
  assert.deepEqual(calls, [[1, 2, 3], [4, 5, 6]]);
});

test('a failed call fails only the adds it carried', async () => {
  let n = 0;
  const c = new Coalescer<string>(async (items) => {
    if (n++ === 0) throw new Error(`boom ${items.join(',')}`);
  });
  const a = c.add(['a']);
  const b = c.add(['b']);
  await assert.rejects(a, /boom a,b/);
  await assert.rejects(b, /boom a,b/);
  await c.add(['c']);
});

test('a call carries at most maxItems (an oversized add goes alone)', async () => {
  const calls: string[][] = [];
  const c = new Coalescer<string>(async (items) => void calls.push(items), 3);
  await Promise.all([c.add(['a', 'b']), c.add(['c', 'd']), c.add(['e']), c.add(['f', 'g', 'h', 'i'])]);
  assert.deepEqual(calls, [['a', 'b'], ['c', 'd', 'e'], ['f', 'g', 'h', 'i']]);
});

// D3/D5: a job of several deliveries is named by its contents.
test('a batch job id depends on its (message, receiver) pairs only, not their order', () => {
  const a = { messageId: '10', receiverId: '2' };
  const b = { messageId: '11', receiverId: '3' };
  assert.equal(deliveryBatchJobId([a, b]), deliveryBatchJobId([b, a]));
  assert.notEqual(deliveryBatchJobId([a, b]), deliveryBatchJobId([a, { messageId: '11', receiverId: '4' }]));
  assert.notEqual(deliveryBatchJobId([a, b]), deliveryBatchJobId([{ messageId: '1', receiverId: '02' }, b]));
  // One delivery keeps the single-delivery id, which a D3 repeat of that message plans.
  assert.equal(deliveryBatchJobId([a]), deliveryJobId('10', '2'));
});
