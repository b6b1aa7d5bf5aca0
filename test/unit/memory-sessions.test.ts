import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntityManager } from '@mikro-orm/knex';
import { MemorySessionCache, SessionStatus } from '../../src/auth/session-status';
import { LastSeen, MemoryLastSeen } from '../../src/services/last-seen';

// Session liveness and last-seen stamps of an embedded node. SessionStatus reads
// the session row through the EntityManager; here a stand-in table answers (the
// integration tests run it on the real database).

interface Row {
  id: string;
  revokedAt: Date | null;
  expiresAt: Date;
}

/** The two reads SessionStatus makes, over rows in memory, counting them. */
function rowsEm(rows: Row[]) {
  const reads: string[] = [];
  const em = {
    async findOne(_entity: unknown, where: { id: string }) {
      reads.push(where.id);
      return rows.find((r) => r.id === where.id) ?? null;
    },
    async find(_entity: unknown, where: { id: string[] }) {
      reads.push(...where.id);
      return rows.filter((r) => where.id.includes(r.id) && !r.revokedAt && r.expiresAt > new Date());
    },
  };
  return { em: () => em as unknown as EntityManager, reads };
}

const later = new Date(Date.now() + 3_600_000);

test('isLive reads the row once, then answers from the cache until its TTL; a revocation is seen at once', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const rows: Row[] = [{ id: 's1', revokedAt: null, expiresAt: later }];
  const { em, reads } = rowsEm(rows);
  const status = new SessionStatus(em, new MemorySessionCache(60));
  assert.equal(await status.isLive('s1'), true);
  assert.equal(await status.isLive('s1'), true);
  assert.deepEqual(reads, ['s1'], 'the second answer came from the cache');
  assert.equal(await status.isLive('gone'), false);
  assert.equal(await status.isLive('gone'), false);
  assert.deepEqual(reads, ['s1', 'gone'], 'a missing session is cached too');

  rows[0].revokedAt = new Date();
  await status.markRevoked('s1');
  assert.equal(await status.isLive('s1'), false, 'revoked at once, without a read');
  assert.deepEqual(reads, ['s1', 'gone']);

  t.mock.timers.tick(60_000);
  rows[0].revokedAt = null; // only the row could bring it back, after the TTL
  assert.equal(await status.isLive('s1'), true);
  assert.deepEqual(reads, ['s1', 'gone', 's1'], 'read again once the cached answer expired');
});

test('liveOf: cached answers first, one read for the misses', async () => {
  const rows: Row[] = [
    { id: 'a', revokedAt: null, expiresAt: later },
    { id: 'b', revokedAt: null, expiresAt: later },
    { id: 'c', revokedAt: new Date(), expiresAt: later },
  ];
  const { em, reads } = rowsEm(rows);
  const cache = new MemorySessionCache(60);
  const status = new SessionStatus(em, cache);
  await cache.set('a', true);
  await cache.set('b', false); // revoked, as far as the cache knows
  assert.deepEqual([...(await status.liveOf(['a', 'b', 'c', 'd']))], ['a']);
  assert.deepEqual(reads, ['c', 'd'], 'only the misses were read');
  assert.deepEqual(await cache.getMany(['a', 'b', 'x']), [true, false, null]);
  assert.deepEqual([...(await status.liveOf([]))], []);
});

test('the session cache keeps at most max sessions; a forgotten one costs a read, never a revoked session let in', async () => {
  const rows: Row[] = [{ id: 'r', revokedAt: new Date(), expiresAt: later }];
  const { em, reads } = rowsEm(rows);
  const cache = new MemorySessionCache(60, 2);
  const status = new SessionStatus(em, cache);
  await status.markRevoked('r');
  await cache.set('x', true);
  await cache.set('y', true); // r is pushed out
  assert.equal(await cache.get('r'), null);
  assert.equal(await status.isLive('r'), false);
  assert.deepEqual(reads, ['r']);
});

test('last seen: the larger stamp wins, users beyond the bound are forgotten (least recently stamped first)', async () => {
  const store = new MemoryLastSeen(2);
  await store.stamp(['1', '2'], 1000);
  await store.stamp(['1'], 500); // late and older: ignored
  assert.deepEqual(await store.read(['1', '2', '3']), [1000, 1000, null]);
  await store.stamp(['1'], 2000);
  await store.stamp(['3'], 3000); // 2 is the least recently stamped
  assert.deepEqual(await store.read(['1', '2', '3']), [2000, null, 3000]);
});

test('LastSeen over the in-process store: a request stamps now, ofMany answers dates', async () => {
  const ls = new LastSeen(new MemoryLastSeen(), 60_000);
  const t0 = Date.now();
  ls.touch('7');
  await new Promise((r) => setImmediate(r));
  const [seen, never] = await ls.ofMany(['7', '8']);
  assert.ok(seen && seen.getTime() >= t0 && seen.getTime() <= Date.now());
  assert.equal(never, null);
  ls.opened('9');
  ls.closed('9');
  await new Promise((r) => setImmediate(r));
  assert.ok((await ls.ofMany(['9']))[0]);
  ls.stop();
});
