import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRedis, Keys, type Redis } from '../../src/redis';
import { RedisCache } from '../../src/services/cache';
import { errorCode, ok, registerUser, startServer, type TestServer } from '../support/harness';
import { befriend, db, listen, newGroup, requestFriend } from './social.helpers';

// cluster-only: reads the Redis cache keys (the in-process cache has unit tests).

let s: TestServer;
let sql: Awaited<ReturnType<typeof db>>;
let redis: Redis;
let keys: Keys;
before(async () => {
  s = await startServer();
  sql = await db(s);
  redis = createRedis(s.app.config.redis.url!, 'cache-test');
  await redis.connect();
  keys = new Keys(s.prefix);
});
after(async () => {
  await redis?.quit();
  await sql?.end();
  await s?.close();
});

const USER = 'query($id: ID!) { user(id: $id) { id name avatar } }';
const memberIds = (g: string) => s.app.services.groups.memberIds(g);

test('user profiles are served from the cache, and a profile update is seen at once', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user.name, a.account);
  assert.equal(await redis.exists(keys.userCache(a.id)), 1);
  // Behind the service's back the cache wins: proof that reads really come from it.
  await sql.query('UPDATE user SET name = ? WHERE id = ?', ['sneaky', a.id]);
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user.name, a.account);
  await ok(s.url, 'mutation { updateProfile(input: { name: "Alice 2", avatar: "https://x.test/a.png" }) { id } }', {}, a.token);
  const seen = (await ok(s.url, USER, { id: a.id }, b.token)).user;
  assert.deepEqual([seen.name, seen.avatar], ['Alice 2', 'https://x.test/a.png']);
  assert.equal((await ok(s.url, '{ me { role { name } } }', {}, a.token)).me.role.name, 'user');
  assert.equal((await ok(s.url, '{ me { name } }', {}, a.token)).me.name, 'Alice 2');
});

test('a deleted user disappears at once', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  assert.ok((await ok(s.url, USER, { id: a.id }, b.token)).user);
  await ok(s.url, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: a.id }, a.token);
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user, null);
});

test('the member-id list follows every change: added, removed, left, dissolved', async () => {
  const [a, b, c] = [await registerUser(s.url), await registerUser(s.url), await registerUser(s.url)];
  await befriend(s.url, a, b);
  await befriend(s.url, a, c);
  const g = await newGroup(s.url, a, [b]);
  const sorted = (...ids: string[]) => ids.sort((x, y) => Number(BigInt(x) - BigInt(y)));
  assert.deepEqual(await memberIds(g), sorted(a.id, b.id));
  assert.equal(await redis.exists(keys.groupMembers(g)), 1);
  await sql.query('UPDATE conversation_member SET active = 0 WHERE conversation_id = ? AND user_id = ?', [g, b.id]);
  assert.deepEqual(await memberIds(g), sorted(a.id, b.id), 'a hit must not read MariaDB');
  await sql.query('UPDATE conversation_member SET active = 1 WHERE conversation_id = ? AND user_id = ?', [g, b.id]);

  await ok(s.url, 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }', { g, u: [c.id] }, a.token);
  assert.deepEqual(await memberIds(g), sorted(a.id, b.id, c.id));
  assert.ok((await ok(s.url, 'query($id: ID!) { group(id: $id) { id } }', { id: g }, c.token)).group);

  await ok(s.url, 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }', { g, u: c.id }, a.token);
  assert.deepEqual(await memberIds(g), sorted(a.id, b.id));
  assert.deepEqual(await ok(s.url, 'query($id: ID!) { group(id: $id) { id } }', { id: g }, c.token), { group: null });

  await ok(s.url, 'mutation($g: ID!) { leaveGroup(groupId: $g) }', { g }, b.token);
  assert.deepEqual(await memberIds(g), [a.id]);
  assert.deepEqual(await ok(s.url, 'query($id: ID!) { group(id: $id) { id } }', { id: g }, b.token), { group: null });

  await ok(s.url, 'mutation($g: ID!) { dissolveGroup(groupId: $g) }', { g }, a.token);
  assert.deepEqual(await memberIds(g), []);
});

test('a read that loaded old data before an invalidation cannot store it afterwards', async () => {
  const cache = new RedisCache(redis, 60);
  const key = `${s.prefix}cache:test:${Date.now()}`;
  const { versions: [v0] } = await cache.read([key]);
  await cache.invalidate(key); // a writer commits while the reader is still in MariaDB
  await cache.fill(key, v0, '"stale"');
  assert.equal(await redis.get(key), null);
  const { versions: [v1] } = await cache.read([key]);
  await cache.fill(key, v1, '"fresh"');
  assert.equal(await redis.get(key), '"fresh"');
  assert.ok((await redis.ttl(key)) > 0);
});

test('lists resolve their users in one batch (no N+1)', async () => {
  const a = await registerUser(s.url);
  const friends = await Promise.all(Array.from({ length: 4 }, () => registerUser(s.url)));
  for (const f of friends) await befriend(s.url, a, f);
  const g = await newGroup(s.url, a, friends);
  const uc = s.app.services.userCache;
  const original = uc.byIds.bind(uc);
  const calls: number[] = [];
  uc.byIds = async (ids) => {
    calls.push(ids.length);
    return original(ids);
  };
  try {
    await ok(s.url, '{ friends { user { name } } }', {}, a.token);
    assert.deepEqual(calls, [4]);
    calls.length = 0;
    await ok(s.url, 'query($id: ID!) { group(id: $id) { members { user { name } } } }', { id: g }, a.token);
    assert.deepEqual(calls, [5]);
    calls.length = 0;
    await ok(s.url, '{ notifications { sender { name } receiver { name } } }', {}, a.token);
    assert.deepEqual(calls, [5]);
  } finally {
    uc.byIds = original;
  }
});

test('a long-lived notifications subscription shows the sender\'s profile as it is now, not as it was', async () => {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  const lb = await listen(s, b);
  try {
    const first = await requestFriend(s.url, a, b);
    assert.equal((await lb.next(1))[0].sender.id, a.id);
    await ok(s.url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: false) { id } }', { n: first }, b.token);
    await ok(s.url, 'mutation { updateProfile(input: { name: "Renamed" }) { id } }', {}, a.token);
    await requestFriend(s.url, a, b);
    const pushes = await lb.next(2);
    assert.deepEqual(pushes.map((n) => n.sender.id), [a.id, a.id]);
    const names = lb.sub.values.map((v) => v.notifications.sender.name);
    assert.deepEqual(names, [a.account, 'Renamed']);
  } finally {
    await lb.close();
  }
});
