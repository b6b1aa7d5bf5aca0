import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { RedisPresence } from '../../src/delivery/presence';
import { createRedis, Keys, type Redis } from '../../src/redis';
import { device, waitOnline } from '../support/chat';
import { clusterOnly, ok, registerUser, sleep, startServer, type TestServer, type TestUser, testMode } from '../support/harness';

// D7/D20: a device is present exactly while it has a live `messages` subscription,
// whatever the order of subscribe, complete, socket close and the attach's own steps
// (fence, then mark present). A socket dropped while its attach was still running
// used to leave the device `online: true` for good, its entry renewed by the node.

const TTL_S = 2;
let s: TestServer;
let redis: Redis;
let keys: Keys;
before(async () => {
  s = await startServer({ PRESENCE_TTL_S: String(TTL_S) });
  keys = new Keys(s.prefix);
  if (testMode !== 'cluster') return;
  redis = createRedis(s.app.config.redis.url!, 'presence-test');
  await redis.connect();
});
after(async () => {
  redis?.disconnect();
  await s?.close();
});

type Ending = 'terminate' | 'close' | 'complete';

/** A raw graphql-transport-ws socket, authenticated (connection_ack received). */
async function rawSocket(user: TestUser): Promise<WebSocket> {
  const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws');
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } })));
    ws.on('message', (raw) => {
      if ((JSON.parse(String(raw)) as { type: string }).type === 'connection_ack') resolve();
    });
  });
  ws.on('error', () => undefined);
  return ws;
}

/** Subscribes to `messages`, then ends it `afterMs` later as told; resolves once the end was sent. */
async function subscribeThenEnd(ws: WebSocket, afterMs: number, ending: Ending): Promise<void> {
  ws.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query: 'subscription { messages { id } }' } }));
  if (afterMs) await sleep(afterMs);
  if (ending === 'terminate') ws.terminate(); // no close frame: the server sees the TCP connection go
  else if (ending === 'close') ws.close(1000);
  else ws.send(JSON.stringify({ id: 'm', type: 'complete' })); // the socket stays open
}

const online = async (u: TestUser): Promise<boolean> => (await ok(s.url, '{ me { online } }', {}, u.token)).me.online;

/** The user's live presence entries: in Redis, those whose score (expiry, ms) is still ahead; embedded, the node's own. */
const liveEntries = async (u: TestUser): Promise<string[]> =>
  testMode === 'cluster'
    ? redis.zrangebyscore(keys.presence(u.id), Date.now(), '+inf')
    : ((await s.app.services.presence.connectionsOfMany([u.id])).get(u.id) ?? []).map((c) => `${c.nodeId}|${c.connectionId}|${c.deviceId}`);

async function settlesOffline(u: TestUser, withinMs: number): Promise<number> {
  const t0 = Date.now();
  while (await online(u)) {
    if (Date.now() - t0 > withinMs) return -1;
    await sleep(25);
  }
  return Date.now() - t0;
}

const DELAYS = [0, 1, 2, 5, 10, 20, 40];

test('D7/D20: a messages subscription ended at any step of its attach leaves the device absent, and the node renews nothing', async () => {
  const cases: Array<{ label: string; user: TestUser; ws?: WebSocket; ending: Ending; ms: number }> = [];
  for (const ending of ['terminate', 'close', 'complete'] as const) {
    for (const ms of DELAYS) cases.push({ label: `${ending} after ${ms} ms`, user: await registerUser(s.url), ending, ms });
  }
  // Rounds of every case at once: the attaches overlap, as a reconnect storm's do.
  for (let round = 0; round < 3; round++) {
    for (const c of cases) c.ws = await rawSocket(c.user);
    await Promise.all(cases.map((c) => subscribeThenEnd(c.ws!, c.ms, c.ending)));
  }
  // Absent at once (the detach's round trips), and in any case within the TTL.
  const stuck: string[] = [];
  for (const c of cases) {
    const took = await settlesOffline(c.user, TTL_S * 1000 + 500);
    if (took < 0) stuck.push(`${c.label}: still online after ${TTL_S * 1000 + 500} ms`);
  }
  // Two refresh periods later (ttl/3 each) nothing was renewed either.
  await sleep(((TTL_S * 1000) / 3) * 2 + 200);
  for (const c of cases) {
    const live = await liveEntries(c.user);
    if (live.length || (await online(c.user))) stuck.push(`${c.label}: renewed after it ended (${live.join(', ')})`);
  }
  for (const c of cases) c.ws?.terminate();
  assert.deepEqual(stuck, []);
});

test('D20: after a dropped attach, a clean connect makes the device online and a clean close absent again', async () => {
  const u = await registerUser(s.url);
  for (const ms of DELAYS) await subscribeThenEnd(await rawSocket(u), ms, 'terminate');
  const dev = device(s.url, s.wsUrl, u);
  await waitOnline(s.url, u);
  await dev.client.dispose();
  assert.notEqual(await settlesOffline(u, TTL_S * 1000 + 500), -1, 'absent within the TTL after the clean close');
  await sleep(((TTL_S * 1000) / 3) * 2 + 200);
  assert.deepEqual(await liveEntries(u), []);
  assert.equal(await online(u), false);
});

// D14: a sync read waits for the device's attaches in progress (attaching.ts). A subscription
// completed before its stream ever started used to stay "in progress" for good, so every later
// sync of that device waited the full second.
test('D14: a subscription ended before its stream started holds no later sync up', async () => {
  const u = await registerUser(s.url);
  for (let i = 0; i < 5; i++) {
    const ws = await rawSocket(u);
    // Subscribe and complete in one write: graphql-ws sees the complete while onSubscribe runs.
    ws.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query: 'subscription { messages { id } }' } }));
    ws.send(JSON.stringify({ id: 'm', type: 'complete' }));
    await sleep(50);
    ws.terminate();
  }
  await sleep(100);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await ok(s.url, '{ sync(limit: 1) { hasMore } }', {}, u.token);
    times.push(Date.now() - t0);
  }
  assert.ok(Math.min(...times) < 500, `each sync waited: ${times.join(', ')} ms`);
  assert.equal(await online(u), false);
});

test('D20: two messages subscriptions on one socket: the device stays present until the last one ends', async () => {
  const u = await registerUser(s.url);
  const ws = await rawSocket(u);
  const sub = (id: string) => ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { messages { id } }' } }));
  sub('one');
  sub('two');
  await waitOnline(s.url, u);
  await sleep(100);
  ws.send(JSON.stringify({ id: 'one', type: 'complete' }));
  await sleep(300);
  assert.equal(await online(u), true, 'the second subscription is still live');
  assert.equal((await liveEntries(u)).length, 1);
  ws.send(JSON.stringify({ id: 'two', type: 'complete' }));
  assert.notEqual(await settlesOffline(u, 1000), -1, 'absent once both ended');
  ws.terminate();
});

// D7: the refresh renews only what this node holds and is still live; a lapsed entry is
// fenced before it is added again, and not added again while its fence fails.
test('D7/D20: the presence refresh renews live entries, fences a lapsed one before re-adding it, and renews nothing detached', clusterOnly('Redis presence with a TTL; embedded entries live exactly as long as their subscription'), async () => {
  const unitKeys = new Keys(`${s.prefix}unit:`);
  const presence = new RedisPresence(redis, unitKeys, TTL_S, 'node-t');
  const fences: string[] = [];
  let fenceWorks = false;
  presence.onLapse = async (c) => {
    fences.push(c.connectionId);
    if (!fenceWorks) throw new Error('db down');
  };
  const a = { connectionId: 'a', userId: '1', deviceId: 'da' };
  const b = { connectionId: 'b', userId: '1', deviceId: 'db' };
  const period = (TTL_S * 1000) / 3;
  try {
    await presence.attach(a);
    await presence.attach(b);
    const first = Number(await redis.zscore(unitKeys.presence('1'), 'node-t|a|da'));
    await sleep(period + 150);
    assert.ok(Number(await redis.zscore(unitKeys.presence('1'), 'node-t|a|da')) > first, 'renewed');
    assert.deepEqual(fences, []);
    // Redis lost b's entry (a restart, a failover): the next refresh fences before re-adding it.
    await redis.zrem(unitKeys.presence('1'), 'node-t|b|db');
    await sleep(period + 150);
    assert.deepEqual(fences, ['b']);
    assert.equal(await redis.zscore(unitKeys.presence('1'), 'node-t|b|db'), null, 'not re-added while its fence fails');
    fenceWorks = true;
    await sleep(period + 150);
    assert.deepEqual(fences, ['b', 'b']);
    assert.notEqual(await redis.zscore(unitKeys.presence('1'), 'node-t|b|db'), null, 're-added after its fence');
    await presence.detach(a);
    await sleep(period + 150);
    assert.equal(await redis.zscore(unitKeys.presence('1'), 'node-t|a|da'), null, 'a detached entry is not renewed');
    assert.equal(presence.localCount, 1);
  } finally {
    presence.stop();
  }
});
