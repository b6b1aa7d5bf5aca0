import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, test } from 'node:test';
import { scopeAsyncLocalStorage } from '../../src/db/async-scopes';

const undo = scopeAsyncLocalStorage();
after(() => undo());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Node's own flag: whether the storage (and so the promise hooks, if it is the only one) is on. */
const enabled = (s: AsyncLocalStorage<unknown>) => (s as unknown as { enabled: boolean }).enabled;

test('overlapping scopes keep their stores until the last one ends; then the storage is off', async () => {
  const als = new AsyncLocalStorage<string>();
  const long = als.run('a', async () => {
    await sleep(30);
    const mid = als.getStore();
    await Promise.resolve();
    return [mid, als.getStore()];
  });
  const short = als.run('b', async () => {
    await sleep(5);
    return als.getStore();
  });
  assert.equal(await short, 'b');
  assert.equal(enabled(als), true, 'one scope is still open');
  assert.deepEqual(await long, ['a', 'a']);
  await Promise.resolve();
  assert.equal(enabled(als), false);
  assert.equal(als.getStore(), undefined);
  // and the next scope turns it on again
  assert.equal(await als.run('c', async () => (await sleep(1), als.getStore())), 'c');
});

test('a synchronous scope and a throwing one both close', async () => {
  const als = new AsyncLocalStorage<number>();
  assert.equal(als.run(1, () => als.getStore()), 1);
  assert.throws(() => als.run(2, () => { throw new Error('x'); }), /x/);
  await assert.rejects(als.run(3, async () => { throw new Error('y'); }), /y/);
  await Promise.resolve();
  assert.equal(enabled(als), false);
});

test('why the count matters: turning a storage off when one scope ends loses the store of the other', async () => {
  const als = new AsyncLocalStorage<string>();
  const long = als.run('a', async () => {
    await sleep(20);
    return als.getStore();
  });
  await als.run('b', async () => sleep(2));
  als.disable(); // what a per-scope (uncounted) disable would do here
  assert.equal(await long, undefined);
});
