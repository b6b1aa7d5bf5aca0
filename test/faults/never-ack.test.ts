import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGE_FIELDS, syncAll } from '../support/chat';
import { collect, ok, wsClient } from '../support/harness';
import { scaled } from '../support/processes';
import {
  catchUp, cluster, cursorOf, direct, FAST_TIMINGS, FetchTap, group, Ledger, online, Peer, queueState, sleep, socialSetup, startTraffic,
  untilAcked, verdict, withScene,
} from './kit';

// Issue 6, fault 6: a device whose push handler never acknowledges. Its socket
// stays open and receives every push; no `acknowledge` ever comes back.
//
// D6: each delivery job waits ACK_TIMEOUT_MS for the device's acknowledge, then ends with the
//     outcome failure; the job does not hang (the queue drains).
// D8: failure(m) puts the fence at the lowest unacknowledged id: lastAckErr = min m, lastAck < it.
// D9: later pushes the device does acknowledge cannot move lastAck past the fence.
// D10/D12/D13: so the next sync returns every unacknowledged message, and its acknowledgeSync
//     confirms them (lastAck moves to the end, the fence clears).
// D14: the other devices (typed clients) in the same conversations are unaffected: 0 lost, no duplicate.

test('D6/D8/D9/D12: a push handler that never acknowledges: its jobs end by the ack timeout and the next sync returns every message', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    const { env, nodes } = await cluster(scene, 1);
    const [node] = nodes;
    const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const ackTimeoutMs = Number(FAST_TIMINGS.ACK_TIMEOUT_MS);
    const names = ['sam', 'rob', 'cal'];
    const { users, groupId } = await socialSetup(node.url, names, [[0, 1], [0, 2]], true);
    const [samU, rob, calU] = users;

    // rob's device: a raw D14 socket whose handler takes pushes and (for now) never acknowledges.
    const socket = wsClient(node.wsUrl, { authorization: `Bearer ${rob.token}` });
    scene.defer(() => socket.dispose());
    const sub = collect<{ messages: { id: string; seq: number } }>(socket, `subscription { messages { ${MESSAGE_FIELDS} } }`);
    let acking = false;
    const acked = new Set<string>();
    const ackLoop = setInterval(() => {
      if (!acking) return;
      const fresh = sub.values.map((v) => v.messages.id).filter((id) => !acked.has(id));
      if (!fresh.length) return;
      fresh.forEach((id) => acked.add(id));
      void ok(node.url, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }', { ids: fresh }, rob.token).catch(() => undefined);
    }, 20);
    scene.defer(() => clearInterval(ackLoop));
    const sam = new Peer('sam', samU, { httpUrl: node.url, wsUrl: node.wsUrl });
    const cal = new Peer('cal', calU, { httpUrl: node.url, wsUrl: node.wsUrl });
    const robPeer = new Peer('rob', rob, { httpUrl: node.url, wsUrl: node.wsUrl }); // for the ledger's membership only
    for (const p of [sam, cal]) scene.defer(() => p.stop());
    await Promise.all([sam.start(), cal.start()]);
    await online(node.url, [sam, cal, robPeer]);
    // rob's backlog (nothing yet) is confirmed: the attach fence clears, the cursor is plain.
    await syncAll(node.url, rob);
    assert.equal((await cursorOf(node.url, rob)).lastAckErr, null);

    const all = group(groupId!, [sam, robPeer, cal]);
    const toRob = direct(sam, robPeer);
    const toCal = direct(sam, cal);
    const ledger = new Ledger();
    const plan = [
      { from: sam, conversations: [toRob, all, toCal] },
      { from: cal, conversations: [all, toCal] },
    ];
    const robIds = () => [...ledger.acked.values()].filter((a) => a.receivers.includes(rob.id)).map((a) => a.id);
    const drained = async (what: string) => {
      const t0 = Date.now();
      for (;;) {
        const q = await queueState(redisUrl, env.REDIS_PREFIX, 'delivery');
        if (!q.active && !q.waiting && !q.jobs) return Date.now() - t0;
        if (Date.now() - t0 > ackTimeoutMs * 2 + 10_000) assert.fail(`${what}: delivery jobs still queued: ${JSON.stringify(q)}`);
        await sleep(50);
      }
    };

    // Warm-up: a few pushes rob does acknowledge, so lastAck is somewhere in the middle.
    acking = true;
    for (let i = 0; i < 5; i++) {
      const to = toRob.to(sam);
      const m = await sam.client.send(to, `warm-up ${i}`, `warm-${i}`);
      ledger.record(m, to, toRob.members.map((p) => p.id), `warm-${i}`);
    }
    const warm = robIds();
    await sub.waitFor(warm.length, 10_000);
    await drained('warm-up');
    const c0 = await cursorOf(node.url, rob);
    assert.deepEqual(c0, { lastAck: warm.at(-1), lastAckErr: null }, 'D9: acknowledged pushes move lastAck');
    acking = false;
    await sleep(100); // the last acknowledges are out

    // Phase 1: continuous traffic, rob never acknowledges.
    let traffic = startTraffic({ ledger, pauseMs: [20, 60], plan });
    scene.defer(() => traffic.abort());
    await untilAcked(ledger, scaled(40, 200));
    await traffic.stop();
    const phase1 = robIds().filter((id) => !warm.includes(id));
    await sub.waitFor(warm.length + phase1.length, 10_000);
    const drain1 = await drained('phase 1');
    scene.note(`phase 1: ${ledger.summary()}; ${phase1.length} pushed to rob, none acknowledged; queue drained ${drain1} ms after the last send returned`);
    // Each job ends by the ack timeout (plus the time to record its failure), not by JOB_TIMEOUT_MS.
    assert.ok(drain1 <= ackTimeoutMs + 3000, `the jobs ended by the ack timeout (${drain1} ms)`);
    const first = phase1.map(BigInt).reduce((a, b) => (b < a ? b : a));
    const c1 = await cursorOf(node.url, rob);
    scene.note(`rob's cursor after phase 1: ${JSON.stringify(c1)}, lowest unacknowledged ${first}`);
    assert.equal(c1.lastAckErr, String(first), 'D8: the fence sits at the lowest unacknowledged message');
    assert.equal(c1.lastAck, c0.lastAck, 'D8: lastAck stays where the acknowledged pushes left it, below the fence');

    // Phase 2: the handler acknowledges from now on; those successes must not pass the fence.
    acking = true;
    traffic = startTraffic({ ledger, pauseMs: [20, 60], plan });
    await untilAcked(ledger, ledger.acked.size + scaled(20, 100));
    await traffic.stop();
    const phase2 = robIds().filter((id) => !phase1.includes(id) && !warm.includes(id));
    await sub.waitFor(warm.length + phase1.length + phase2.length, 10_000);
    await drained('phase 2');
    const c2 = await cursorOf(node.url, rob);
    scene.note(`phase 2: ${phase2.length} more pushed to rob and acknowledged; cursor ${JSON.stringify(c2)}`);
    assert.deepEqual(c2, c1, 'D9: acknowledged pushes above the fence move nothing');

    // Phase 3: rob's next sync (D14 catch-up) returns every message it never acknowledged.
    const synced = await syncAll(node.url, rob);
    const got = new Set(synced.map((m) => m.id));
    assert.deepEqual(phase1.filter((id) => !got.has(id)), [], 'the next sync returns every unacknowledged message');
    const c3 = await cursorOf(node.url, rob);
    const last = [...phase1, ...phase2].map(BigInt).reduce((a, b) => (b > a ? b : a));
    assert.ok(BigInt(c3.lastAck ?? '0') >= last, `D13: the sync acknowledge confirmed the backlog (${JSON.stringify(c3)})`);
    assert.equal(c3.lastAckErr, null, 'D13: the fence is cleared');
    const robHas = new Set([...sub.values.map((v) => v.messages.id), ...got]);
    assert.deepEqual(robIds().filter((id) => !robHas.has(id)), [], 'rob: 0 lost');
    assert.equal(new Set(sub.values.map((v) => v.messages.id)).size, sub.values.length, 'each job pushed once (no rerun)');

    // The typed clients beside it lost nothing and saw nothing twice.
    for (const p of [sam, cal]) await catchUp(node.url, p, [toRob, toCal, all].filter((c) => c.members.includes(p)));
    const v = verdict(ledger, [sam, cal], tap);
    scene.note(`final catch-up: ${v.healed}`);
    assert.deepEqual(v.lost, []);
    assert.deepEqual(v.duplicates, []);
    assert.deepEqual(v.order, []);
  });
});
