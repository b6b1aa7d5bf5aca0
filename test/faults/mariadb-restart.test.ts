import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGE_FIELDS } from '../support/chat';
import { ok } from '../support/harness';
import { startPrivateMariaDB } from '../support/private-services';
import { isReady, scaled } from '../support/processes';
import {
  cluster, type Conversation, direct, FetchTap, finalCheck, group, Ledger, online, Peer, sleep, socialSetup, startPeers, startTraffic, untilAcked, waitLive, withScene,
} from './kit';

// Issue 6, fault 5: MariaDB (a private instance on a spare port and a temporary
// data directory: the machine's shared MariaDB is never touched) is killed with
// SIGKILL during traffic and started again on the same port and datadir.
//
// D4: while it is down sendMessage fails with a clear error, extensions.code UNAVAILABLE
//     (what the server maps database outages to), and returns nothing: no receipt.
// D3: the same clientMsgId sent again once MariaDB is back succeeds, and the server holds
//     one message for it (never a second copy, even when the first attempt had committed).
// D2: a receipt is only given after the commit: with innodb's durable commits no
//     acknowledged message is lost by the crash.
// D11/D14: deliveries that failed while the database was down heal through sync and gap fill.

test('D4/D3/D2: MariaDB killed and restarted mid-traffic: sends fail UNAVAILABLE meanwhile, the same clientMsgId succeeds after, 0 lost', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    const db = await startPrivateMariaDB();
    scene.defer(() => db.dispose());
    scene.logs(`mariadbd ${db.port}`, () => db.logs());
    scene.note(`private mariadbd on ${db.port}: install ${db.installMs} ms, start ${db.lastStartMs} ms`);
    const dbName = `im_faults_${process.pid}_${Date.now() % 100000}`;
    const { nodes } = await cluster(scene, 1, { DATABASE_URL: db.url(dbName) });
    const [node] = nodes;
    const names = ['val', 'wes', 'xia', 'yan'];
    const { users, groupId } = await socialSetup(node.url, names, [[0, 1], [2, 3]], true);
    const peers = users.map((u, i) => new Peer(names[i], u, { httpUrl: node.url, wsUrl: node.wsUrl }));
    await startPeers(scene, node.url, peers);
    const all = group(groupId!, peers);
    const d01 = direct(peers[0], peers[1]);
    const d23 = direct(peers[2], peers[3]);
    const conversations: Conversation[] = [d01, d23, all];
    const ledger = new Ledger();
    const traffic = startTraffic({
      ledger,
      pauseMs: [20, 60],
      retryPauseMs: 200,
      plan: [
        { from: peers[0], conversations: [d01, all] },
        { from: peers[1], conversations: [d01] },
        { from: peers[2], conversations: [d23, all] },
        { from: peers[3], conversations: [d23, all] },
      ],
    });
    scene.defer(() => traffic.abort());

    const cycles = scaled(1, 3);
    const outages: Array<[number, number]> = [];
    for (let c = 0; c < cycles; c++) {
      await untilAcked(ledger, ledger.acked.size + scaled(30, 100));
      const downAt = Date.now();
      await db.stop('SIGKILL');
      scene.note(`cycle ${c}: mariadbd killed with ${ledger.acked.size} acknowledged`);
      await sleep(1500);
      await db.start();
      const upAt = Date.now();
      outages.push([downAt, upAt]);
      scene.note(`cycle ${c}: mariadbd answers again after ${db.lastStartMs} ms; ${ledger.acked.size} acknowledged`);
      await untilAcked(ledger, ledger.acked.size + scaled(30, 100), 3000);
    }
    await traffic.stop();
    scene.note(`traffic stopped: ${ledger.summary()}`);
    assert.ok(node.alive(), 'the server survived the outage');
    assert.ok(await isReady(node.port), 'GET /readyz answers 200 again');

    // While MariaDB was down sendMessage failed, and only with UNAVAILABLE (the typed client repeats those).
    const during = tap.seen.filter((s) => s.codes.length && outages.some(([d, u]) => s.at >= d && s.at <= u));
    const codes = new Map<string, number>();
    for (const s of tap.seen) for (const c of s.codes) codes.set(c, (codes.get(c) ?? 0) + 1);
    scene.note(`sendMessage errors: ${JSON.stringify(Object.fromEntries(codes))}; during the outage: ${during.length}`);
    assert.ok(during.length > 0, 'sends were attempted and failed while MariaDB was down');
    const unclear = tap.seen.filter((s) => s.codes.some((c) => c !== 'UNAVAILABLE'));
    assert.deepEqual(unclear.map((s) => `${s.codes.join(',')}: ${s.messages.join(' | ')}`), [], 'every failed send said UNAVAILABLE');
    assert.match(during[0].messages[0], /unavailable|try again/i, 'the message says what happened');

    // Every send eventually succeeded with its own clientMsgId (D3), and the server holds one copy of each.
    assert.deepEqual(ledger.gaveUp, []);
    const failedIds = new Set(tap.seen.filter((s) => s.codes.length && s.clientMsgId).map((s) => s.clientMsgId!));
    const ackedIds = new Set([...ledger.acked.values()].map((a) => a.clientMsgId));
    scene.note(`${failedIds.size} clientMsgIds failed at least once; all repeated with the same id`);
    assert.deepEqual([...failedIds].filter((id) => !ackedIds.has(id)), [], 'each clientMsgId that failed succeeded once MariaDB was back (D3)');
    for (const c of conversations) {
      const me = c.members[0];
      const stored: Array<{ id: string; clientMsgId: string; sender: { id: string } }> = [];
      for (let after = 0; ; ) {
        const d = await ok(node.url, `query($w: ConversationInput!, $a: Int) { history(with: $w, afterSeq: $a, limit: 200) { messages { ${MESSAGE_FIELDS} } hasMore } }`, { w: c.to(me), a: after }, me.user.token);
        stored.push(...d.history.messages);
        if (!d.history.hasMore) break;
        after = Math.max(...d.history.messages.map((m: { seq: number }) => m.seq));
      }
      const byClientId = new Map<string, string[]>();
      for (const m of stored) byClientId.set(`${m.sender.id}/${m.clientMsgId}`, [...(byClientId.get(`${m.sender.id}/${m.clientMsgId}`) ?? []), m.id]);
      assert.deepEqual([...byClientId].filter(([, ids]) => ids.length > 1), [], `${c.label}: one stored message per clientMsgId`);
      const ids = new Set(stored.map((m) => m.id));
      const mine = [...ledger.acked.values()].filter((a) => a.receivers.includes(me.id) && c.members.every((p) => a.receivers.includes(p.id)) && a.receivers.length === c.members.length);
      assert.deepEqual(mine.filter((a) => !ids.has(a.id)).map((a) => a.id), [], `${c.label}: every receipt is stored (D2)`);
    }

    const live = await waitLive(ledger, peers, 5000);
    scene.note(`typed clients alone complete: ${live}`);
    await online(node.url, peers);
    await finalCheck(scene, node.url, ledger, peers, conversations, tap);
  });
});
