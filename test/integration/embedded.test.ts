import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeFriends, send, syncAll } from '../support/chat';
import { embeddedOnly, ok, registerUser, type TestUser } from '../support/harness';
import { LIMITS_OFF } from '../support/limits-off';
import { freePort, startNode } from '../support/processes';

// The embedded node as a process: its data directory, its start line, and a kill -9 under traffic.

const MAIN = join(__dirname, '..', '..', 'src', 'main.js');

function embeddedEnv(dataDir: string): Record<string, string> {
  return { DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'info', ...LIMITS_OFF };
}

function tempDataDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'im-embedded-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('one embedded node per DATA_DIR: a second is refused in one line that names the directory and the way out', embeddedOnly(), async (t) => {
  const dir = tempDataDir(t);
  const env = embeddedEnv(dir);
  const first = await startNode(env);
  t.after(() => first.kill());
  assert.match(first.logs(), /embedded single node: data in .*im\.sqlite; set DATABASE_URL=.* and REDIS_URL=/, 'the start line');
  const port = await freePort();
  const second = spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env, PORT: String(port), HOST: '127.0.0.1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(second.status, 69, second.stderr);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.match(lines[0], /in use by another embedded node/);
  assert.ok(lines[0].includes(dir), lines[0]);
  assert.match(lines[0], /DATABASE_URL and REDIS_URL/);
  // The first node was not disturbed.
  await registerUser(first.url);
});

test('kill -9 under traffic, restart on the same data: every acknowledged send is there, once, in order', embeddedOnly(), async (t) => {
  const dir = tempDataDir(t);
  const env = embeddedEnv(dir);
  const node = await startNode(env);
  t.after(() => node.kill('SIGKILL'));
  const pairs: Array<[TestUser, TestUser]> = [];
  for (let i = 0; i < 6; i++) {
    const [a, b] = [await registerUser(node.url), await registerUser(node.url)];
    await makeFriends(node.url, a, b);
    pairs.push([a, b]);
  }
  const acked: Array<{ pair: number; id: string; seq: number; content: string; clientMsgId: string }> = [];
  // Each sender sends one message after the other until its request fails (the node is gone).
  let inFlight = 0;
  const senders = pairs.map(async ([a, b], pair) => {
    for (let i = 0; ; i++) {
      const clientMsgId = `p${pair}-${i}`;
      inFlight++;
      try {
        const m = await send(node.url, a, { userId: b.id }, `message ${i} of pair ${pair}`, clientMsgId);
        acked.push({ pair, id: m.id, seq: m.seq, content: m.content, clientMsgId });
      } catch {
        return;
      } finally {
        inFlight--;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  const inFlightAtKill = inFlight;
  await node.kill('SIGKILL');
  await Promise.all(senders);
  assert.ok(acked.length >= 50, `the node was busy: ${acked.length} sends acknowledged`);
  assert.ok(inFlightAtKill >= 1, 'sends were in flight when the node died');

  // The same data and secret: the old tokens still hold, and nothing acknowledged is gone.
  const again = await startNode(env, { port: node.port });
  t.after(() => again.kill());
  for (const [pair, [a, b]] of pairs.entries()) {
    const mine = acked.filter((m) => m.pair === pair);
    const got = await syncAll(again.url, b);
    const byId = new Map(got.map((m) => [m.id, m]));
    for (const m of mine) assert.equal(byId.get(m.id)?.content, m.content, `pair ${pair}: acknowledged ${m.id} (${m.clientMsgId})`);
    // Seqs without gaps or repeats, so nothing stored twice and nothing half-stored.
    assert.deepEqual(got.map((m) => m.seq), got.map((_, i) => i + 1), `pair ${pair}: seqs`);
    // A retry of an acknowledged send returns the stored message (D3 across the crash).
    if (mine.length) {
      const last = mine[mine.length - 1];
      const retry = await send(again.url, a, { userId: b.id }, last.content, last.clientMsgId);
      assert.equal(retry.id, last.id);
    }
  }
  await ok(again.url, '{ __typename }');
});
