import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import * as mariadb from 'mariadb';
import { sleep } from './util';
import { LIMITS_OFF } from '../../test/support/limits-off';

/** Which stack the runner starts: MariaDB + Redis (cluster mode) or one node on SQLite (embedded mode). */
export type Stack = 'cluster' | 'embedded';

export interface Target {
  url: string;
  wsUrl: string;
  /** Set when the runner started the server: then CPU, memory and direct SQL are available. */
  pid?: number;
  /** The stack of a server the runner started (undefined against --server). */
  stack?: Stack;
  /** cluster: the run's MariaDB database and Redis key prefix. */
  db?: string;
  prefix?: string;
  /** embedded: the run's DATA_DIR (the SQLite file is im.sqlite in it). */
  dataDir?: string;
  jwtSecret?: string;
  stop(): Promise<void>;
  /** Which main.js ran, with a fingerprint of its build (own server only). */
  build?: string;
  /** Errors and warnings the server logged so far (own server only). */
  logSummary?(): { errors: number; warnings: number; first: string; file: string };
}

const ROOT = path.join(__dirname, '..', '..', '..');
export const OUT_DIR = path.join(ROOT, 'bench', 'out');
export const DEFAULT_DIST = path.join(ROOT, 'dist');
const JWT_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(base: string, child: ChildProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was ready`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error('the server did not become ready');
}

/** An existing server (--server URL): no CPU, memory or SQL access. */
export function external(url: string): Target {
  return { url, wsUrl: url.replace(/^http/, 'ws'), async stop() {} };
}

const DATA_DIR_PREFIX = path.join(tmpdir(), 'im-bench-');

/**
 * Starts `node dist/src/main.js` as a child on a free port and a soft fd
 * limit raised to the hard limit. `cluster` (the default): with its own
 * MariaDB database and Redis prefix. `embedded`: with neither DATABASE_URL
 * nor REDIS_URL and a fresh DATA_DIR under the system's temporary directory.
 * stop() sends SIGTERM, then SIGUSR2 after 3 s (exit-hook.ts: the server's
 * own shutdown does not finish), so --cpu-prof is written; then it removes
 * what the run made: the database and the Redis keys (SCAN + DEL of its
 * prefix only), or the DATA_DIR.
 */
export async function startServer(opts: { profile?: string; env?: Record<string, string>; dist?: string; stack?: Stack } = {}): Promise<Target> {
  const stack = opts.stack ?? 'cluster';
  const port = await freePort();
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const db = stack === 'cluster' ? `im_bench_${tag}` : undefined;
  const prefix = stack === 'cluster' ? `im_bench_${tag}:` : undefined;
  const dataDir = stack === 'embedded' ? mkdtempSync(DATA_DIR_PREFIX) : undefined;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...(stack === 'cluster'
      ? { DATABASE_URL: `mysql://root@127.0.0.1:3306/${db}`, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix! }
      : { DATA_DIR: dataDir! }),
    JWT_SECRET,
    LOG_LEVEL: 'warn',
    // The benchmark measures delivery: its thousands of users and sockets come from one address.
    ...LIMITS_OFF,
    ...opts.env,
  };
  const nodeArgs: string[] = ['-r', path.join(__dirname, 'exit-hook.js')];
  // Extra node flags for the server child, e.g. BENCH_SERVER_NODE_ARGS=--trace-gc (analysis only).
  nodeArgs.push(...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
  if (opts.profile) {
    mkdirSync(OUT_DIR, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${OUT_DIR}`, `--cpu-prof-name=${opts.profile}.cpuprofile`);
  }
  const dist = opts.dist ?? DEFAULT_DIST;
  const main = path.join(dist, 'src', 'main.js');
  const build = buildFingerprint(dist);
  const cmd = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "${process.execPath}" ${nodeArgs.map((a) => `'${a}'`).join(' ')} '${main}'`;
  // The server's log (pino, JSON lines) goes to a file, so the tables stay readable; logSummary() counts its errors.
  mkdirSync(OUT_DIR, { recursive: true });
  const logFile = path.join(OUT_DIR, `server-${tag}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn(cmd, { shell: true, env, cwd: ROOT, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timers = [
        setTimeout(() => child.exitCode === null && child.kill('SIGUSR2'), 3_000),
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 30_000),
      ];
      await exited;
      timers.forEach(clearTimeout);
    }
    if (db && prefix) await cleanup(db, prefix);
    if (dataDir) removeDataDir(dataDir);
    if (statSync(logFile).size === 0) unlinkSync(logFile); // keep only logs with something in them
  };
  try {
    await waitReady(base, child);
  } catch (e) {
    await stop();
    throw e;
  }
  const logSummary = () => {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    const errors = lines.filter((l) => /"level":(50|60)/.test(l));
    const e = errors[0] ?? '';
    const first = (/(SQLState: \w+\) [^;"\\]{0,50})/.exec(e)?.[1] ?? /"message":"([^"]{0,60})/.exec(e)?.[1] ?? '').replace(/\|/g, '/');
    return { errors: errors.length, warnings: lines.filter((l) => /"level":40/.test(l)).length, first, file: logFile };
  };
  return { url: `${base}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql`, pid: child.pid, stack, db, prefix, dataDir, jwtSecret: JWT_SECRET, stop, logSummary, build: `${path.relative(ROOT, main)} (dist/src sha256 ${build})` };
}

/** sha256 (12 hex) of every file under <dist>/src, and the newest file's time: which server build ran. */
export function buildFingerprint(dist: string): string {
  const files = (readdirSync(path.join(dist, 'src'), { recursive: true }) as string[]).map((f) => path.join(dist, 'src', f)).filter((f) => statSync(f).isFile()).sort();
  const h = createHash('sha256');
  let newest = 0;
  for (const f of files) {
    h.update(f.slice(dist.length)).update(readFileSync(f));
    newest = Math.max(newest, statSync(f).mtimeMs);
  }
  return `${h.digest('hex').slice(0, 12)}, newest file ${new Date(newest).toISOString().slice(0, 19)}Z`;
}

export function sqlPool(db: string, connectionLimit = 4): mariadb.Pool {
  return mariadb.createPool({ host: '127.0.0.1', port: 3306, user: 'root', database: db, connectionLimit, bigIntAsNumber: true, insertIdAsNumber: true });
}

/** Removes an embedded run's DATA_DIR: only one this module made (under the temporary directory, named im-bench-*). */
function removeDataDir(dir: string): void {
  if (!dir.startsWith(DATA_DIR_PREFIX) || dir.slice(DATA_DIR_PREFIX.length).includes(path.sep)) throw new Error(`refusing to remove ${dir}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Drops the run's database and deletes its Redis keys; nothing else. */
async function cleanup(db: string, prefix: string): Promise<void> {
  if (!/^im_bench_[A-Za-z0-9_]+$/.test(db)) throw new Error(`refusing to drop ${db}`);
  const conn = await mariadb.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  } finally {
    await conn.end();
  }
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
