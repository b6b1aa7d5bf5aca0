import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from '../../src/bounded-map';
import { MemoryCache } from '../../src/services/memory-cache';

// The cache of an embedded node, and the bounded map under the in-process stores.

test('read misses, fill, read hits; an invalidation drops the entry', async () => {
  const c = new MemoryCache(60);
  const r = await c.read(['a', 'b']);
  assert.deepEqual(r.values, [null, null]);
  await c.fill('a', r.versions[0], '{"n":1}');
  assert.deepEqual((await c.read(['a', 'b'])).values, ['{"n":1}', null]);
  await c.invalidate('a');
  assert.deepEqual((await c.read(['a'])).values, [null]);
  assert.deepEqual(await c.read([]), { values: [], versions: [] });
});

test('the version rule: a fill whose read came before an invalidation of its key is refused', async () => {
  const c = new MemoryCache(60);
  const before = await c.read(['a', 'b']);
  await c.invalidate('a'); // a writer committed and invalidated after the read
  await c.fill('a', before.versions[0], '"old"');
  assert.deepEqual((await c.read(['a'])).values, [null], 'the stale row is not stored');
  await c.fill('b', before.versions[1], '"b"');
  assert.deepEqual((await c.read(['b'])).values, ['"b"'], "another key's invalidation does not refuse it");
  const after = await c.read(['a']);
  await c.fill('a', after.versions[0], '"new"');
  assert.deepEqual((await c.read(['a'])).values, ['"new"'], 'a read after the invalidation fills');
  await c.invalidate('a');
  await c.invalidate('a');
  await c.fill('a', after.versions[0], '"older"');
  assert.deepEqual((await c.read(['a'])).values, [null]);
  await c.fill('a', '', '"x"');
  assert.deepEqual((await c.read(['a'])).values, [null], 'no version reads as older than every invalidation');
});

test('forgetting old invalidations (the bound) refuses the fills of reads older than them, never lets a stale one in', async () => {
  const c = new MemoryCache(60, { maxInvalidations: 2 });
  const old = await c.read(['a', 'z']);
  await c.invalidate('a');
  await c.invalidate('b');
  await c.invalidate('c'); // a's invalidation is forgotten here
  await c.fill('a', old.versions[0], '"stale"');
  assert.deepEqual((await c.read(['a'])).values, [null], "a's invalidation is forgotten, and still the fill is refused");
  await c.fill('z', old.versions[1], '"z"');
  assert.deepEqual((await c.read(['z'])).values, [null], 'conservative: any read older than the floor is refused');
  const fresh = await c.read(['a']);
  await c.fill('a', fresh.versions[0], '"a"');
  assert.deepEqual((await c.read(['a'])).values, ['"a"']);
});

test('entries: at most maxEntries (least recently used go first), each for ttlS', async (t) => {
  t.mock.timers.enable({ apis: ['Date'] });
  const c = new MemoryCache(10, { maxEntries: 2 });
  const v = (await c.read(['x'])).versions[0];
  await c.fill('a', v, '1');
  await c.fill('b', v, '2');
  await c.read(['a']); // a is used: b is now the least recent
  await c.fill('c', v, '3');
  assert.deepEqual((await c.read(['a', 'b', 'c'])).values, ['1', null, '3']);
  t.mock.timers.tick(9_999);
  assert.deepEqual((await c.read(['a'])).values, ['1']);
  t.mock.timers.tick(1);
  assert.deepEqual((await c.read(['a', 'c'])).values, [null, null], 'expired after ttlS');
});

test('BoundedMap: the bound evicts the oldest by write (or by use with touchOnRead) and reports it; entries expire', () => {
  const evicted: string[] = [];
  const m = new BoundedMap<string, number>({ max: 2, onEvict: (k) => evicted.push(k) });
  m.set('a', 1, undefined, 0);
  m.set('b', 2, undefined, 0);
  m.get('a', 0);
  m.set('c', 3, undefined, 0);
  assert.deepEqual([m.get('a', 0), m.get('b', 0), m.get('c', 0)], [undefined, 2, 3], 'oldest by write');
  m.set('b', 4, undefined, 0); // a rewrite makes it the newest
  m.set('d', 5, undefined, 0);
  assert.deepEqual(evicted, ['a', 'c']);
  assert.equal(m.size, 2);

  const lru = new BoundedMap<string, number>({ max: 2, touchOnRead: true, ttlMs: 100 });
  lru.set('a', 1, undefined, 0);
  lru.set('b', 2, undefined, 0);
  lru.get('a', 0);
  lru.set('c', 3, undefined, 0);
  assert.deepEqual([lru.get('a', 0), lru.get('b', 0), lru.get('c', 0)], [1, undefined, 3], 'oldest by use');
  assert.equal(lru.get('a', 99), 1);
  assert.equal(lru.get('a', 100), undefined, 'expired at ttlMs');
  assert.equal(lru.size, 1, 'an expired entry is dropped when met');
  lru.set('e', 1, 5, 0);
  assert.equal(lru.get('e', 5), undefined, 'a ttl of its own');
  assert.throws(() => new BoundedMap({ max: 0 }), /max/);
});
