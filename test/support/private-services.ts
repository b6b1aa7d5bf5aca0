import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mariadb';
import { freePort, LogTail, sleep } from './processes';

// Private Redis and MariaDB instances for the tests that stop them: each on a
// spare port with its own temporary directory, started as our child, stoppable
// and restartable on the same port (and datadir). The machine's shared servers
// (127.0.0.1:6379 and :3306) are never touched.

const run = promisify(execFile);

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
  tail: LogTail;
}

function launch(cmd: string, args: string[], tail: LogTail): Daemon {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c) => tail.feed(c));
  child.stderr!.on('data', (c) => tail.feed(c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited, tail };
}

async function stopDaemon(d: Daemon | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill(signal);
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 15_000);
  await d.exited;
  clearTimeout(timer);
}

async function until(what: string, check: () => Promise<boolean>, d: Daemon, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`${what} exited before it answered:\n${d.tail.text()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${d.tail.text()}`);
    await sleep(50);
  }
}

export interface PrivateService {
  readonly port: number;
  readonly dir: string;
  /** Milliseconds the last start took until the service answered. */
  lastStartMs: number;
  running(): boolean;
  /** Stops the process with the signal (SIGKILL: a crash) and waits for it to end. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (and data directory). */
  start(): Promise<void>;
  /** Stops it and deletes its temporary directory. */
  dispose(): Promise<void>;
  logs(): string;
}

export interface PrivateRedis extends PrivateService {
  readonly url: string;
}

/** Answers PING with +PONG on a raw socket (no client library state to reset between restarts). */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (c) => {
      got += c.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}

/** redis-server without persistence (a restart loses every key, queued jobs included). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'im-faults-redis-'));
  const tail = new LogTail();
  let d: Daemon | undefined;
  const svc: PrivateRedis = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    lastStartMs: 0,
    running: () => !!d && d.child.exitCode === null && d.child.signalCode === null,
    async start() {
      const t0 = Date.now();
      d = launch('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning'], tail);
      await until(`redis-server on ${port}`, () => redisPing(port), d, 10_000);
      svc.lastStartMs = Date.now() - t0;
    },
    stop: (signal: NodeJS.Signals = 'SIGKILL') => stopDaemon(d, signal),
    async dispose() {
      await stopDaemon(d, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    logs: () => tail.text(),
  };
  await svc.start();
  return svc;
}

export interface PrivateMariaDB extends PrivateService {
  /** A DATABASE_URL for the named database on this instance (root, no password, over TCP). */
  url(dbName: string): string;
  /** Milliseconds mariadb-install-db took. */
  readonly installMs: number;
}

/**
 * mariadbd on a temporary data directory made by mariadb-install-db, root with an
 * empty password over TCP 127.0.0.1. `--no-defaults` keeps the machine's my.cnf
 * (its user, socket, port and log paths) out of it.
 */
export async function startPrivateMariaDB(): Promise<PrivateMariaDB> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'im-faults-mariadb-'));
  const datadir = path.join(dir, 'data');
  const small = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'];
  const t0 = Date.now();
  try {
    await run('mariadb-install-db', [
      '--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal',
      '--skip-test-db', '--skip-name-resolve', ...small,
    ], { timeout: 60_000 });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
  const installMs = Date.now() - t0;
  const tail = new LogTail();
  let d: Daemon | undefined;
  const answers = async () => {
    const c = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
    try {
      await c.query('SELECT 1');
      return true;
    } finally {
      await c.end();
    }
  };
  const svc: PrivateMariaDB = {
    port,
    dir,
    installMs,
    lastStartMs: 0,
    url: (dbName) => `mysql://root@127.0.0.1:${port}/${dbName}`,
    running: () => !!d && d.child.exitCode === null && d.child.signalCode === null,
    async start() {
      const t1 = Date.now();
      d = launch('mariadbd', [
        '--no-defaults', '--user=root', `--datadir=${datadir}`, `--port=${port}`, '--bind-address=127.0.0.1',
        `--socket=${path.join(dir, 'sock')}`, `--pid-file=${path.join(dir, 'pid')}`, '--skip-name-resolve',
        '--skip-log-bin', '--max-connections=300', ...small,
      ], tail);
      await until(`mariadbd on ${port}`, answers, d, 60_000);
      svc.lastStartMs = Date.now() - t1;
    },
    stop: (signal: NodeJS.Signals = 'SIGKILL') => stopDaemon(d, signal),
    async dispose() {
      await stopDaemon(d, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    logs: () => tail.text(),
  };
  try {
    await svc.start();
  } catch (e) {
    await svc.dispose();
    throw e;
  }
  return svc;
}
