import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Router, scaled, startRouter } from '../support/processes';
import {
  addNode, cluster, type Conversation, direct, FetchTap, finalCheck, group, Ledger, online, Peer, socialSetup, startTraffic,
  untilAcked, waitLive, withScene,
} from './kit';

// Issue 6, fault 1: two server nodes on one MariaDB and one Redis, clients spread
// over both, 1:1 traffic both ways and a group; one node is killed with SIGKILL
// mid-traffic and its clients reconnect to the other (each client has a list of
// nodes: a router that connects to the first node that answers).
//
// D20: a device on either node gets every message, presence of the dead node's
//      sockets lapses by its TTL; acknowledges reach the job on any node.
// D11/D5: the dead node's running jobs stall and a live node's checkStalledJobs reruns them.
// D7: pushes to the dead node's sockets fail (or find them absent) and the reconnect fences
//     the cursor, so the typed client's sync on reconnect returns what they missed.
// D3/D4: a send cut off by the kill is repeated with the same clientMsgId on the other node.
// D14: the typed client dedupes by id and fills seq gaps; the final catch-up is its sync + gap fill.

test('D20/D11/D7/D3: a node killed with SIGKILL mid-traffic loses no acknowledged message and duplicates none', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    const { env, nodes } = await cluster(scene, 2);
    let [a, b] = nodes;
    const names = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];
    // Each pair spans the two nodes: even users start on A, odd ones on B.
    const { users, groupId } = await socialSetup(b.url, names, [[0, 1], [2, 3], [4, 5]], true);
    const routers: Router[] = [];
    const peers: Peer[] = [];
    for (const [i, u] of users.entries()) {
      const r = await startRouter(i % 2 === 0 ? [a.port, b.port] : [b.port, a.port]);
      scene.defer(() => r.close());
      routers.push(r);
      const p = new Peer(names[i], u, { httpUrl: r.url, wsUrl: r.wsUrl });
      scene.defer(() => p.stop());
      peers.push(p);
    }
    await Promise.all(peers.map((p) => p.start()));
    await online(b.url, peers);
    const all = group(groupId!, peers);
    const pairs = [direct(peers[0], peers[1]), direct(peers[2], peers[3]), direct(peers[4], peers[5])];
    const conversations: Conversation[] = [...pairs, all];
    const ledger = new Ledger();
    const traffic = startTraffic({
      ledger,
      pauseMs: [30, 90],
      plan: peers.map((p, i) => ({ from: p, conversations: [pairs[Math.floor(i / 2)], all] })),
    });
    scene.defer(() => traffic.abort());

    const cycles = scaled(1, 4);
    const perPhase = scaled(40, 150);
    for (let c = 0; c < cycles; c++) {
      await untilAcked(ledger, ledger.acked.size + perPhase);
      const victim = c % 2 === 0 ? a : b;
      const before = ledger.acked.size;
      await victim.kill('SIGKILL');
      scene.note(`cycle ${c}: SIGKILL ${victim.name} with ${before} acknowledged so far`);
      // Past the presence TTL, so the dead node's sockets lapse while traffic goes on (D20).
      await untilAcked(ledger, before + perPhase, 4000);
      if (c + 1 < cycles) {
        // The long variant brings the node back on its port and kills the other one next.
        const back = await addNode(scene, env, victim.name, victim.port);
        if (victim === a) a = back;
        else b = back;
        scene.note(`cycle ${c}: ${victim.name} restarted`);
      }
    }
    await traffic.stop();
    const survivor = a.alive() ? a : b;
    scene.note(`traffic stopped: ${ledger.summary()}`);
    assert.deepEqual(ledger.gaveUp, [], 'every send succeeded in the end with its clientMsgId');

    // The dead node's clients are on the survivor now: their router connected there after the kill.
    if (cycles === 1) {
      for (const [i, r] of routers.entries()) {
        if (i % 2 === 0) assert.ok((r.connections.get(b.port) ?? 0) > 0, `${names[i]} reconnected to ${b.name}`);
      }
    }
    await online(survivor.url, peers);

    const live = await waitLive(ledger, peers, 15_000);
    scene.note(`typed clients alone complete: ${live}`);
    await finalCheck(scene, survivor.url, ledger, peers, conversations, tap);
  });
});
