import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scaled } from '../support/processes';
import {
  addNode, cluster, FetchTap, finalCheck, fivePeerTraffic, Peer, queueState, sleep, socialSetup, startPeers, untilAcked, waitLive, withScene,
} from './kit';

// Issue 6, fault 2: a worker (a server node: every node runs the bee-queue
// workers) is killed with SIGKILL while its delivery jobs are in flight, waiting
// for acknowledges. Every client sits on the other node, so no socket breaks and
// no client syncs: what the dead worker held can only arrive by a rerun.
//
// D5/D11: bee-queue runs a job at least once; the surviving node's checkStalledJobs
//         (STALL_INTERVAL_MS) finds the dead worker's active jobs and runs them again.
// D6/D20: the rerun pushes again through the surviving node; the acknowledge resolves it there.
// D9: a second success for the same id is harmless.
// D14: the client dedupes the second push by id (each id reaches the app once).

test('D5/D11: a worker killed with SIGKILL mid-delivery: its stalled jobs are rerun and every message arrives live, once', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    // Acknowledges are held back a little so deliveries stay in flight (ACK_TIMEOUT_MS is 1000).
    tap.ackDelayMs = 300;
    // FAULTS_PROBE_STALL_MS=600000 turns the stall checks practically off: the test must then fail (it does).
    const probe = process.env.FAULTS_PROBE_STALL_MS;
    const { env, nodes } = await cluster(scene, 2, probe ? { STALL_INTERVAL_MS: probe } : {});
    const [worker, survivor] = nodes;
    const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const names = ['gus', 'hal', 'ivy', 'jon', 'kim'];
    const { users, groupId } = await socialSetup(survivor.url, names, [[0, 1], [2, 3], [1, 4]], true);
    // A seq gap may only be filled by the rerun push here, not by history: the client waits for it.
    const peers = users.map((u, i) => new Peer(names[i], u, { httpUrl: survivor.url, wsUrl: survivor.wsUrl, gapWaitMs: 120_000 }));
    await startPeers(scene, survivor.url, peers);
    const { conversations, ledger, traffic } = fivePeerTraffic(scene, peers, groupId!);

    // Both nodes take jobs from one queue, so a kill can find the worker holding none (the other
    // took them all): that cycle tests nothing, and another node is added and killed, up to maxCycles.
    const pushedTwice = () => peers.flatMap((p) => [...p.frames].filter(([, n]) => n > 1).map(([id]) => `${p.name}:${id}`));
    const minCycles = scaled(1, 3);
    const maxCycles = scaled(5, 6);
    let killedAt = 0;
    let w = worker;
    for (let c = 0; c < maxCycles; c++) {
      await untilAcked(ledger, ledger.acked.size + scaled(40, 120));
      const q = await queueState(redisUrl, env.REDIS_PREFIX, 'delivery');
      killedAt = Date.now();
      await w.kill('SIGKILL');
      scene.note(`cycle ${c}: SIGKILL ${w.name} with ${ledger.acked.size} acknowledged; delivery queue before the kill: ${JSON.stringify(q)}`);
      // Two stall intervals and then some: the survivor's checkStalledJobs has rerun what the dead node held.
      await untilAcked(ledger, ledger.acked.size + scaled(40, 120), 3000);
      if (c + 1 >= minCycles && pushedTwice().length > 0) break;
      if (c + 1 < maxCycles) w = await addNode(scene, env, `${worker.name}'`);
    }
    await traffic.stop();
    scene.note(`traffic stopped: ${ledger.summary()}`);
    assert.deepEqual(ledger.gaveUp, []);

    // No reconnect, no sync, no history: everything the server acknowledged reaches the apps by push,
    // the dead worker's share by the rerun (D11).
    const live = await waitLive(ledger, peers, 20_000);
    const rerun = pushedTwice();
    const late = peers.flatMap((p) =>
      [...ledger.acked.values()]
        .filter((a) => a.receivers.includes(p.id) && a.sender !== p.id && a.at < killedAt && (p.firstFrameAt.get(a.id) ?? 0) > killedAt + 500)
        .map((a) => `${p.name}:${a.id}`),
    );
    scene.note(`pushed twice (a rerun after the first push): ${rerun.length}; first pushed after the stall check: ${late.length}`);
    assert.ok(peers.every((p) => p.sockets.length === 1), 'no client reconnected (no sync could have healed anything)');
    assert.ok(live, `every message reached the apps live (missing: ${peers.map((p) => `${p.name} ${JSON.stringify([...ledger.acked.values()].filter((a) => a.receivers.includes(p.id) && !p.received().has(a.id)).map((a) => a.id))}`).join(', ')})`);
    assert.ok(rerun.length + late.length > 0, 'the dead worker held deliveries in flight, and they were run again');

    // The queues drain: no job is left behind in Redis.
    let q = await queueState(redisUrl, env.REDIS_PREFIX, 'delivery');
    for (let i = 0; i < 50 && (q.active || q.waiting || q.jobs); i++) {
      await sleep(100);
      q = await queueState(redisUrl, env.REDIS_PREFIX, 'delivery');
    }
    assert.deepEqual({ active: q.active, waiting: q.waiting, jobs: q.jobs }, { active: 0, waiting: 0, jobs: 0 }, 'the delivery queue drained');

    await finalCheck(scene, survivor.url, ledger, peers, conversations, tap);
  });
});
