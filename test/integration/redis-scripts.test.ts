import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { RedisPresence } from '../../src/delivery/presence';
import { createRedis, Keys, LuaScript } from '../../src/redis';
import { testEnv } from '../support/harness';

// cluster-only: Redis Lua scripts.

// Every Lua script runs on an automatically pipelining client (createRedis). ioredis's
// `defineCommand` on such a client, done lazily at the script's first use, crashed a node
// restarted under traffic: the automatic pipeline already open for that tick lacked the
// command, the call threw inside it, and its callback then threw an uncaught
// `TypeError: results[i] is not iterable` from ioredis's autoPipelining.js.

const redisUrl = loadConfig(testEnv()).redis.url ?? 'redis://127.0.0.1:6379';
const prefix = () => loadConfig(testEnv()).redis.prefix;

/** Runs body and fails if anything threw uncaught meanwhile or within `settleMs` after it. */
async function noUncaught(body: () => Promise<void>, settleMs = 200): Promise<unknown[]> {
  const uncaught: unknown[] = [];
  const listener = (e: unknown) => uncaught.push(e);
  // node:test itself listens too and would fail the file; ours reports what was thrown.
  process.prependListener('uncaughtException', listener);
  try {
    await body();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.removeListener('uncaughtException', listener);
  }
  return uncaught;
}

test('a fresh auto-pipelining client: one command, then connectionsOfMany in the same tick', async () => {
  const redis = createRedis(redisUrl, 'scripts-test');
  const fresh = createRedis(redisUrl, 'scripts-test-fresh');
  const keys = new Keys(prefix());
  try {
    await redis.connect();
    const presence = new RedisPresence(redis, keys, 30, 'node-x');
    await presence.attach({ connectionId: 'c1', userId: '7', deviceId: 'd1' });
    presence.stop();
    await fresh.connect();
    let lists: Map<string, unknown[]> | undefined;
    const uncaught = await noUncaught(async () => {
      const p = new RedisPresence(fresh, keys, 30, 'node-y');
      // Same tick: the GET opens the automatic pipeline the script call then joins.
      const other = fresh.get(keys.presence('nobody'));
      lists = await p.connectionsOfMany(['7', '8']);
      await other;
      // And again on the now warm client, alone and beside other commands.
      const [again] = await Promise.all([p.connectionsOfMany(['7']), fresh.ping()]);
      assert.equal(again.get('7')!.length, 1);
    });
    assert.deepEqual(uncaught.map(String), [], 'nothing thrown uncaught');
    assert.deepEqual(lists!.get('7'), [{ nodeId: 'node-x', connectionId: 'c1', deviceId: 'd1', userId: '7' }]);
    assert.deepEqual(lists!.get('8'), []);
  } finally {
    fresh.disconnect();
    await redis.del(keys.presence('7')).catch(() => undefined);
    redis.disconnect();
  }
});

test('a script Redis has never seen runs on its first call (NOSCRIPT falls back to EVAL), in a pipelined tick', async () => {
  const redis = createRedis(redisUrl, 'scripts-test-noscript');
  await redis.connect();
  try {
    // A text unique to this run, so its SHA is not in Redis's script cache yet.
    const script = new LuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn {KEYS[1], ARGV[1]}`);
    assert.equal(await redis.script('EXISTS', script.sha).then((r) => (r as number[])[0]), 0);
    const uncaught = await noUncaught(async () => {
      const [, reply] = await Promise.all([redis.ping(), script.run<string[]>(redis, ['k'], ['v'])]);
      assert.deepEqual(reply, ['k', 'v']);
      assert.deepEqual(await script.run<string[]>(redis, ['k2'], [3]), ['k2', '3']);
    });
    assert.deepEqual(uncaught.map(String), []);
  } finally {
    redis.disconnect();
  }
});
