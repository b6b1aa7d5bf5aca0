import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type ChatMessage, ImClient } from '../../client/im-client';
import { embeddedOnly } from '../support/harness';
import { freePort, sleep } from '../support/processes';

// slow: it runs npm ci in a fresh copy of the repository (a minute or two).

// What a new user does: a copy of the repository with nothing beside it, no
// DATABASE_URL and no REDIS_URL, `npm ci && npm start`, then the typed client.

const root = join(__dirname, '..', '..', '..');

/** The tracked files as they are now (a clone of the working tree), into `to`. */
function copyTracked(to: string): void {
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  assert.ok(files.length > 50, 'git ls-files lists the repository');
  for (const f of files) {
    if (!existsSync(join(root, f))) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyFileSync(join(root, f), join(to, f));
  }
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

test('a fresh copy with nothing beside it: npm ci && npm start serves embedded, and the typed client registers, befriends, chats and syncs', { timeout: 900_000, ...embeddedOnly() }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'im-fresh-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const repo = join(base, 'im-server');
  copyTracked(repo);
  assert.equal(existsSync(join(base, 'shared')), false, 'nothing beside the copy');
  // Only what any machine has: no database or Redis settings.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? base };
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: repo, env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(install.status, 0, `npm ci failed:\n${install.stdout}\n${install.stderr}`);

  const port = await freePort();
  const server = spawn('npm', ['start'], { cwd: repo, env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.on('data', (c) => (out += c));
  server.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  // npm passes SIGTERM on to the server (its start script execs node); SIGKILL would reach npm alone.
  t.after(async () => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => server.kill('SIGKILL'))]);
  });
  await until(`the server listens; output:\n${out}`, () => out.includes('im-server listening') || server.exitCode !== null, 300_000);
  assert.match(out, /embedded single node: data in /, out);

  const httpUrl = `http://127.0.0.1:${port}/graphql`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const got: ChatMessage[] = [];
  const client = (onMessage: (m: ChatMessage) => void = () => undefined) => new ImClient({ httpUrl, wsUrl, webSocketImpl: WebSocket, onMessage });
  const alice = client();
  const bob = client((m) => got.push(m));
  t.after(() => bob.stop());
  const aliceSession = await alice.register('alice', 'password123');
  const bobSession = await bob.register('bob', 'password123');

  await alice.requestFriend(bobSession.user.id);
  const [request] = await bob.pendingFriendRequests();
  assert.equal(request?.from, aliceSession.user.id);
  await bob.answerFriendRequest(request.notificationId);

  await bob.start();
  await alice.send({ userId: bobSession.user.id }, 'hello, bob');
  await until('bob gets the push', () => got.some((m) => m.content === 'hello, bob'));
  await bob.stop();

  for (const text of ['one', 'two', 'three']) await alice.send({ userId: bobSession.user.id }, text);
  // Bob's same device logs in again later and catches up over HTTP. It passes on what it
  // already holds (snapshot → lastSeq, D14): a push whose acknowledge the server had not
  // recorded when the socket closed comes again in the sync, and is dropped as held.
  const later: ChatMessage[] = [];
  const bobAgain = new ImClient({ httpUrl, wsUrl, webSocketImpl: WebSocket, onMessage: (m) => later.push(m), deviceId: bobSession.deviceId, lastSeq: bob.snapshot() });
  await bobAgain.login('bob', 'password123');
  await bobAgain.catchUp();
  assert.deepEqual(later.map((m) => m.content), ['one', 'two', 'three']);

  server.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});
