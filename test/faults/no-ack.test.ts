import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { device, makeFriends, send, syncAll, waitOnline } from '../support/chat';
import { registerUser } from '../support/harness';
import { cluster, cursorOf, queueState, sleep, withScene } from './kit';

// Issue 6, fault 6: a device whose push handler never acknowledges. Each
// delivery job waits ACK_TIMEOUT_MS (1 s here), records a failure (D8) and
// ends; the cursor rules keep every message for the device's next sync (D10).

test('D6/D8/D10: a push handler that never acknowledges: the jobs end by their timeout and the next sync returns every message', async (t) => {
  await withScene(t, async (scene) => {
    const { env, nodes } = await cluster(scene, 1);
    const [node] = nodes;
    const a = await registerUser(node.url);
    const b = await registerUser(node.url);
    await makeFriends(node.url, a, b);
    const deaf = device(node.url, node.wsUrl, b, { autoAck: false });
    scene.defer(() => deaf.client.dispose());
    await waitOnline(node.url, b);
    await syncAll(node.url, b);
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) sent.push((await send(node.url, a, { userId: b.id }, `unheard ${i}`)).id);
    await deaf.sub.waitFor(sent.length);
    assert.deepEqual(deaf.pushed().map((m) => m.id).sort(), [...sent].sort(), 'every message was pushed');
    // Past the ack timeout every job has ended: nothing waiting or active is left.
    let q = await queueState(env.REDIS_URL ?? 'redis://127.0.0.1:6379', env.REDIS_PREFIX, 'delivery');
    for (let i = 0; i < 50 && (q.active || q.waiting); i++) {
      await sleep(200);
      q = await queueState(env.REDIS_URL ?? 'redis://127.0.0.1:6379', env.REDIS_PREFIX, 'delivery');
    }
    assert.deepEqual({ active: q.active, waiting: q.waiting }, { active: 0, waiting: 0 }, 'the jobs ended by their timeout');
    const cursor = await cursorOf(node.url, b);
    assert.ok(BigInt(cursor.lastAck ?? '0') < BigInt(sent[0]), `lastAck ${cursor.lastAck} stays below the first unacknowledged id`);
    assert.equal(cursor.lastAckErr, sent[0], 'D8: the first failure is the fence');
    // The same device (deaf socket still open) syncs and gets all of them, in order.
    const got = await syncAll(node.url, b);
    assert.deepEqual(got.map((m) => m.id), sent);
  });
});
