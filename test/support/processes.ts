import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';

// Real server processes for the fault tests (test/faults): `node dist/src/main.js`
// as a child configured by env, a spare-port probe, readiness on GET /readyz, kills
// by signal, and a small failover router that gives a client "a list of nodes".

/** FAULTS_LONG=1 (npm run test:faults:long) selects the longer variants: more traffic, more cycles. */
export const faultsLong = (): boolean => process.env.FAULTS_LONG === '1';
/** The short value in CI, the long one under FAULTS_LONG=1. */
export const scaled = <T>(short: T, long: T): T => (faultsLong() ? long : short);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port nobody listens on right now (the kernel picks it; we close the probe and hand the number on). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** Keeps the last `max` lines a child printed (stdout and stderr interleaved), for diagnostics. */
export class LogTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 300) {}
  feed(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}

export interface ServerProcess {
  readonly name: string;
  readonly port: number;
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  logs(): string;
  /** Sends the signal and waits for the process to end (SIGKILL: no shutdown code runs). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

/**
 * Spawns one server node. `env` is the shared part (DATABASE_URL, REDIS_URL,
 * REDIS_PREFIX, JWT_SECRET, timings, from testEnv()); PORT is picked here unless
 * given, because PORT=0 is not observable from outside. Resolves once GET /readyz
 * answers 200; rejects with the child's output if it exits first or times out.
 */
export async function startNode(
  env: Record<string, string>,
  opts: { name?: string; port?: number; readyTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const name = opts.name ?? `node:${port}`;
  const tail = new LogTail();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      // The test's zone (scripts/run-tests.js runs everything in a non-UTC one).
      ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c) => tail.feed(c));
  child.stderr!.on('data', (c) => tail.feed(c));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    });
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  const proc: ServerProcess = {
    name,
    port,
    url,
    wsUrl: url.replace('http', 'ws'),
    child,
    exited,
    alive: () => !ended,
    logs: () => tail.text(),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (ended) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (ended) {
      const { code, signal } = await exited;
      throw new Error(`${name} exited (${code ?? signal}) before it was ready:\n${tail.text()}`);
    }
    if (await isReady(port)) return proc;
    if (Date.now() > deadline) {
      await proc.kill('SIGKILL');
      throw new Error(`${name} was not ready within ${opts.readyTimeoutMs ?? 30_000} ms:\n${tail.text()}`);
    }
    await sleep(50);
  }
}

/** GET /readyz answers 200 (MariaDB and Redis both answer). */
export async function isReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function waitReady(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isReady(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface Router {
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  /** Connections made to each backend port so far. */
  readonly connections: Map<number, number>;
  close(): Promise<void>;
}

/**
 * A client's list of nodes: a TCP pass-through on its own port that connects
 * each incoming connection (HTTP or WebSocket alike) to the first backend that
 * accepts it. When a node dies its connections break (the client sees a dropped
 * socket or a failed fetch) and new ones go to the next node, as behind a load
 * balancer with health checks.
 */
export async function startRouter(backends: number[]): Promise<Router> {
  const connections = new Map<number, number>();
  const open = new Set<net.Socket>();
  const connectFirst = (i: number): Promise<net.Socket | null> =>
    new Promise((resolve) => {
      if (i >= backends.length) return resolve(null);
      const up = net.connect(backends[i], '127.0.0.1');
      up.once('connect', () => {
        up.removeAllListeners('error');
        connections.set(backends[i], (connections.get(backends[i]) ?? 0) + 1);
        resolve(up);
      });
      up.once('error', () => {
        up.destroy();
        resolve(connectFirst(i + 1));
      });
    });
  const server = net.createServer((down) => {
    open.add(down);
    down.pause();
    down.on('error', () => undefined);
    down.once('close', () => open.delete(down));
    void connectFirst(0).then((up) => {
      if (!up || down.destroyed) {
        up?.destroy();
        down.destroy();
        return;
      }
      open.add(up);
      up.on('error', () => undefined);
      // Either side ending or breaking ends both: a dead node looks like a dropped connection.
      up.once('close', () => {
        open.delete(up);
        down.destroy();
      });
      down.once('close', () => up.destroy());
      up.pipe(down);
      down.pipe(up);
      down.resume();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    port,
    url,
    wsUrl: url.replace('http', 'ws'),
    connections,
    async close() {
      open.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
