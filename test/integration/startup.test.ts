import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanupEnv, clusterOnly, gql, registerUser, testEnv } from '../support/harness';
import { freePort, sleep } from '../support/processes';

// The process as a user or a process manager sees it: `npm start`, the built
// server with a broken dependency, a development restart.

const root = join(__dirname, '..', '..', '..');
const MAIN = join(root, 'dist', 'src', 'main.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a command with the given env on top of PATH and HOME, capturing its output. */
function launch(cmd: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(cmd, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with the exit, or rejects after `ms` (killing the child) with what it printed. */
async function exitWithin(run: Run, ms: number) {
  const timer = sleep(ms).then(() => 'timeout' as const);
  const r = await Promise.race([run.exited, timer]);
  if (r === 'timeout') {
    run.child.kill('SIGKILL');
    throw new Error(`still running after ${ms} ms; stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
  }
  return r;
}

/** True while something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until the server's JSON log says it listens; returns that line's pid. */
async function waitListening(run: Run, ms = 90_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const line of run.stdout().split('\n')) {
      if (!line.includes('im-server listening')) continue;
      return (JSON.parse(line) as { pid: number }).pid;
    }
    if (run.child.exitCode !== null) break;
    await sleep(100);
  }
  run.child.kill('SIGKILL');
  throw new Error(`the server did not start; stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Asserts a failed start: non-zero exit, and stderr is one line matching every pattern. */
async function assertOneLineFailure(env: Record<string, string>, patterns: RegExp[], not: RegExp[] = []) {
  const run = launch(process.execPath, [MAIN], env);
  const { code } = await exitWithin(run, 60_000);
  assert.notEqual(code, 0, 'a failed start exits non-zero');
  const lines = run.stderr().split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `stderr is one line, got:\n${run.stderr()}`);
  for (const p of patterns) assert.match(lines[0], p);
  for (const p of not) assert.doesNotMatch(lines[0], p);
  return lines[0];
}

/** Modification times of the build's outputs (compiled code, build state, generated wire module). */
function buildStamps(): Record<string, number> {
  const files = ['dist/src/main.js', 'dist/tsconfig.tsbuildinfo', 'src/wire/im.js', 'src/wire/im.d.ts', 'dist/src/wire/im.js'];
  return Object.fromEntries(files.map((f) => [f, statSync(join(root, f)).mtimeMs]));
}

test('`npm start` on an up-to-date build compiles nothing; SIGTERM to npm reaches the server, which closes its port and exits; npm exits 0, nothing stays behind', async (t) => {
  const port = await freePort();
  const env = testEnv({ PORT: String(port), LOG_LEVEL: 'info' });
  let serverPid = 0;
  const before = buildStamps();
  const run = launch(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['start'], env);
  t.after(async () => {
    // On a failed assertion, neither npm nor the server may outlive the test.
    run.child.kill('SIGKILL');
    if (serverPid && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
    await cleanupEnv(env);
  });
  serverPid = await waitListening(run);
  assert.deepEqual(buildStamps(), before, 'npm start rewrote build outputs although the build was up to date (was dist stale before the test?)');
  assert.notEqual(serverPid, run.child.pid, 'the server is a child of npm');
  assert.equal(await listening(port), true);

  run.child.kill('SIGTERM');
  const { code, signal } = await exitWithin(run, 30_000);
  assert.equal(await listening(port), false, 'the port is closed once npm has exited');
  for (let i = 0; i < 50 && alive(serverPid); i++) await sleep(100);
  assert.equal(alive(serverPid), false, `the server (pid ${serverPid}) outlived npm: an orphan`);
  assert.match(run.stdout(), /"signal":"SIGTERM".*shutting down/, 'the server itself received SIGTERM and shut down');
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, `npm's exit; stderr:\n${run.stderr()}`);
});

test('Redis unreachable at start: one line on stderr naming Redis and its address', clusterOnly('Redis'), async (t) => {
  const redisPort = await freePort();
  const env = testEnv({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
  t.after(() => cleanupEnv({ ...env, REDIS_URL: 'redis://127.0.0.1:6379' }));
  await assertOneLineFailure(env, [/Redis/, new RegExp(`127\\.0\\.0\\.1:${redisPort}`), /REDIS_URL/], [/\bat .*\.js:\d+/]);
});

test('the port is taken: one line on stderr naming the port', async (t) => {
  const holder = net.createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  const env = testEnv({ PORT: String(port) });
  t.after(() => cleanupEnv(env));
  await assertOneLineFailure(env, [new RegExp(`port ${port}\\b.*in use`), /PORT/]);
});

test('a wrong MariaDB password: one line on stderr saying the login was refused, not to start MariaDB', clusterOnly('MariaDB'), async () => {
  const env = testEnv();
  const url = new URL(env.DATABASE_URL);
  url.password = 'not-the-password';
  await assertOneLineFailure({ ...env, DATABASE_URL: url.toString() }, [/MariaDB/, /refused user root/, /DATABASE_URL/], [/mariadbd/, /start/i]);
});

test('development keeps its JWT secret in DATA_DIR: a token from before a restart still works after it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'im-data-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const { JWT_SECRET: _none, ...base } = testEnv({ NODE_ENV: 'development', PORT: String(port), LOG_LEVEL: 'info', DATA_DIR: dataDir });
  t.after(() => cleanupEnv({ ...base, JWT_SECRET: 'x'.repeat(32) }));
  const url = `http://127.0.0.1:${port}/graphql`;

  const first = launch(process.execPath, [MAIN], base);
  await waitListening(first);
  const user = await registerUser(url);
  first.child.kill('SIGTERM');
  await exitWithin(first, 30_000);

  const secretFile = join(dataDir, 'jwt-secret');
  assert.ok(readFileSync(secretFile, 'utf8').trim().length >= 32);
  if (process.platform !== 'win32') assert.equal(statSync(secretFile).mode & 0o077, 0, 'the secret file is private to its owner');

  const second = launch(process.execPath, [MAIN], base);
  t.after(() => second.child.kill('SIGKILL'));
  await waitListening(second);
  const me = await gql(url, '{ me { id } }', undefined, user.token);
  assert.equal(me.errors, undefined, JSON.stringify(me.errors));
  assert.equal(me.data.me.id, user.id);
  second.child.kill('SIGTERM');
  await exitWithin(second, 30_000);
});
