import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../../client/im-client';
import { MESSAGE_FIELDS } from '../support/chat';
import { gql } from '../support/harness';
import { type ServerProcess, scaled } from '../support/processes';
import {
  addNode, cluster, type Conversation, direct, FetchTap, finalCheck, Ledger, online, Peer, sleep, socialSetup, startTraffic, untilAcked,
  waitLive, withScene,
} from './kit';

// A node stopped under traffic (SIGKILL, then SIGTERM) and started again on the same
// port while its clients retry: the new process takes the full load at once, reconnects,
// sends and delivery jobs in its first ticks. A Lua script defined lazily on the
// auto-pipelining Redis client crashed it there within about two seconds
// (`results[i] is not iterable` from ioredis's autoPipelining.js, uncaught).
//
// The new process stays up, serves every send (D3/D4: retried with the same
// clientMsgId), and the clients lose nothing acknowledged (D7: reconnects fence, D11:
// the dead process's jobs stall and rerun; D14: sync and seq gap fill).

const PAIRS = 20;

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${MESSAGE_FIELDS} } }`;

/**
 * Clients with no backoff: while the node is down each peer repeats three sends every few
 * milliseconds (same clientMsgId, D3), so the new process meets a burst of them in its
 * first ticks, as it does behind a load balancer of impatient clients. Resolves once
 * every one was acknowledged; each goes into the ledger.
 */
async function retryStorm(url: string, ledger: Ledger, peers: Peer[], conversations: Conversation[], tag: string): Promise<void> {
  const senders = peers.flatMap((p, i) => [0, 1, 2].map((k) => ({ p, i, k })));
  await Promise.all(
    senders.map(async ({ p, i, k }) => {
      const c = conversations[Math.floor(i / 2)];
      const to = c.to(p);
      const clientMsgId = `${p.name}-storm-${tag}-${k}`;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const r = await gql(url, SEND, { i: { to, clientMsgId, type: 'TEXT', content: `${p.name} storm ${tag}.${k}` } }, p.user.token).catch(() => undefined);
        const m = r?.data?.sendMessage as ChatMessage | undefined;
        if (m) {
          ledger.record(m, to, c.members.map((x) => x.id), clientMsgId);
          return;
        }
        await sleep(5);
      }
      ledger.gaveUp.push(clientMsgId);
    }),
  );
}

/** untilAcked, failing at once with the node's last lines if the node exits meanwhile. */
async function progressWhileUp(node: ServerProcess, wait: Promise<void>): Promise<void> {
  wait.catch(() => undefined);
  const died = node.exited.then(({ code, signal }) => {
    throw new Error(`${node.name} exited (${code ?? signal}) under traffic:\n${node.logs()}`);
  });
  died.catch(() => undefined);
  await Promise.race([wait, died]);
}

test('a node restarted on its port under traffic (SIGKILL, then SIGTERM) stays up and loses no acknowledged message', async (t) => {
  await withScene(t, async (scene) => {
    const tap = new FetchTap().install();
    scene.defer(() => tap.restore());
    const { env, nodes } = await cluster(scene, 1);
    let node: ServerProcess = nodes[0];
    const started = [node];
    const names = Array.from({ length: PAIRS * 2 }, (_, i) => `p${i}`);
    const pairs = Array.from({ length: PAIRS }, (_, i): [number, number] => [2 * i, 2 * i + 1]);
    const { users } = await socialSetup(node.url, names, pairs, false);
    // Straight to the node's port: after a restart the clients' retries find the new process there.
    const peers = users.map((u, i) => new Peer(names[i], u, { httpUrl: node.url, wsUrl: node.wsUrl }));
    for (const p of peers) scene.defer(() => p.stop());
    await Promise.all(peers.map((p) => p.start()));
    await online(node.url, peers);
    const conversations: Conversation[] = pairs.map(([a, b]) => direct(peers[a], peers[b]));
    const ledger = new Ledger();
    const traffic = startTraffic({
      ledger,
      pauseMs: [40, 120],
      plan: peers.map((p, i) => ({ from: p, conversations: [conversations[Math.floor(i / 2)]] })),
    });
    scene.defer(() => traffic.abort());

    const signals: NodeJS.Signals[] = scaled(['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM'], ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM']);
    for (const [c, signal] of signals.entries()) {
      await untilAcked(ledger, ledger.acked.size + scaled(60, 150));
      const before = ledger.acked.size;
      await node.kill(signal);
      scene.note(`cycle ${c}: ${signal} with ${before} acknowledged`);
      const storm = retryStorm(node.url, ledger, peers, conversations, String(c));
      // At once, while every client retries against the port.
      node = await addNode(scene, env, `node-${c + 1}`, node.port);
      started.push(node);
      const upAt = Date.now();
      // Traffic goes on through the new process for a while: its first seconds are where it died.
      await progressWhileUp(node, storm);
      await progressWhileUp(node, untilAcked(ledger, ledger.acked.size + scaled(60, 150), 3000));
      assert.ok(node.alive(), `the process restarted after ${signal} died:\n${node.logs()}`);
      scene.note(`cycle ${c}: new process up ${Date.now() - upAt} ms, ${ledger.acked.size} acknowledged`);
    }
    await traffic.stop();
    scene.note(`traffic stopped: ${ledger.summary()}`);
    assert.ok(node.alive(), `the last process died:\n${node.logs()}`);
    for (const n of started) assert.doesNotMatch(n.logs(), /is not a function|is not iterable/, `${n.name}: no script call failed in a pipeline`);
    assert.deepEqual(ledger.gaveUp, [], 'every send succeeded in the end with its clientMsgId');

    await online(node.url, peers);
    const live = await waitLive(ledger, peers, 15_000);
    scene.note(`typed clients alone complete: ${live}`);
    await finalCheck(scene, node.url, ledger, peers, conversations, tap);
    assert.ok(node.alive(), 'still up after the catch-up');
  });
});
