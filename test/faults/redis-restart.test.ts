import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPrivateRedis } from '../support/private-services';
import { scaled } from '../support/processes';
import {
  cluster, FetchTap, finalCheck, fivePeerTraffic, online, Peer, sleep, socialSetup, startPeers, untilAcked, waitLive, withScene,
} from './kit';

// Issue 6, fault 4: Redis (a private instance without persistence on a spare
// port: the machine's shared Redis is never touched) is restarted during traffic.
// Everything in it is gone: queued delivery jobs, presence, caches.
//
// D11: a job lost with Redis leaves its message for the next sync (a fence or a failure
//      covers it) or for the client's seq gap check, history(with, afterSeq).
// D4/D3: while Redis is down a send is stored but cannot be enqueued: UNAVAILABLE, and the
//        repeat with the same clientMsgId re-enqueues the stored message (no second copy).
// D7/D20: presence entries vanish; each node's refresh finds its sockets' entries gone and
//         fences their cursors before renewing them, so no live success skips what was missed.
// D14: dedupe by id and seq gap fill; the final catch-up is the client's sync + gap fill.

test('D11/D7/D4: Redis restarted without persistence mid-traffic: clients heal through sync and seq gap fill, 0 lost', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    const redis = await startPrivateRedis();
    scene.defer(() => redis.dispose());
    scene.logs(`redis-server ${redis.port}`, () => redis.logs());
    scene.note(`private redis-server on ${redis.port} answered in ${redis.lastStartMs} ms`);
    const { nodes } = await cluster(scene, 2, { REDIS_URL: redis.url });
    const [a, b] = nodes;
    const names = ['quin', 'rex', 'sue', 'tom', 'uma'];
    const { users, groupId } = await socialSetup(a.url, names, [[0, 1], [2, 3], [1, 4]], true);
    const peers = users.map((u, i) => {
      const n = i % 2 === 0 ? a : b;
      return new Peer(names[i], u, { httpUrl: n.url, wsUrl: n.wsUrl });
    });
    await startPeers(scene, a.url, peers);
    const { conversations, ledger, traffic } = fivePeerTraffic(scene, peers, groupId!);

    const cycles = scaled(1, 3);
    let upAt = 0;
    for (let c = 0; c < cycles; c++) {
      await untilAcked(ledger, ledger.acked.size + scaled(40, 120));
      const before = ledger.acked.size;
      await redis.stop('SIGKILL');
      scene.note(`cycle ${c}: redis killed with ${before} acknowledged`);
      await sleep(1000);
      await redis.start();
      upAt = Date.now();
      scene.note(`cycle ${c}: redis back (empty) after ${redis.lastStartMs} ms to answer; ${ledger.acked.size} acknowledged`);
      await untilAcked(ledger, ledger.acked.size + scaled(40, 120), 4000);
    }
    await traffic.stop();
    scene.note(`traffic stopped: ${ledger.summary()}`);
    assert.deepEqual(ledger.gaveUp, [], 'every send succeeded in the end with its clientMsgId');
    const codes = new Set(tap.seen.flatMap((s) => s.codes));
    scene.note(`sendMessage error codes seen: ${[...codes].join(', ') || 'none'}`);

    // Delivery works again after the restart: messages sent well after it are pushed live (D5, D20).
    const after = [...ledger.acked.values()].filter((m) => m.at > upAt + 2000);
    const pushedAfter = after.filter((m) => peers.some((p) => p.id !== m.sender && m.receivers.includes(p.id) && p.frames.has(m.id)));
    scene.note(`sent more than 2 s after the restart: ${after.length}, of them pushed: ${pushedAfter.length}`);
    if (after.length >= 10) assert.ok(pushedAfter.length >= after.length * 0.8, 'pushes resumed after the restart');

    const live = await waitLive(ledger, peers, 10_000);
    scene.note(`typed clients alone complete: ${live}`);
    await online(a.url, peers);
    await finalCheck(scene, a.url, ledger, peers, conversations, tap);
  });
});
