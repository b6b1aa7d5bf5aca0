import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-ms resolution, comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();
/** CLOCK_MONOTONIC in microseconds: the clock of V8's .cpuprofile timestamps. */
export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Summary { n: number; p50: number; p95: number; p99: number; max: number; mean: number }

export function summarize(values: ArrayLike<number>): Summary {
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN);
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.length ? s[s.length - 1] : NaN, mean: s.length ? sum / s.length : NaN };
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a');
export const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** One row of a run's table: a parameter (no target) or a figure (with a target and a verdict). */
export interface Row { item: string; value: string; target?: string; pass?: boolean }

export function table(title: string, rows: Row[]): string {
  const cells = rows.map((r) => [r.item, r.value, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL']);
  const head = ['', 'value', 'target', 'result'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => (i === 1 ? x.padStart(w[i]) : x.padEnd(w[i]))).join(' | ')} |`;
  return [`### ${title}`, '', line(head), `|${w.map((n, i) => (i === 1 ? `${'-'.repeat(n + 1)}:` : '-'.repeat(n + 2))).join('|')}|`, ...cells.map(line), ''].join('\n');
}

/** utime and stime of a process in milliseconds (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
export function cpuSplitMs(pid: number, hz = 100): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / hz, sys: (Number(f[12]) * 1000) / hz };
}

export function cpuMs(pid: number, hz = 100): number {
  const c = cpuSplitMs(pid, hz);
  return c.user + c.sys;
}

/** VmRSS of a process in KiB. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Pids of processes whose comm is one of names (read-only: used to report MariaDB and Redis CPU). */
export function pidsOf(...names: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Bytes a process caused to be written to storage (write_bytes of /proc/<pid>/io; NaN if unreadable). */
export function writeBytes(pid: number): number {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time of the server, MariaDB and Redis over a window, and the bytes the
 * server and MariaDB wrote to storage. With `external` false (an embedded
 * server: its database and queues run in its own process) MariaDB and Redis
 * are not read at all, so their rows say n/a rather than show whatever else
 * used them meanwhile.
 */
export class CpuMeter {
  private start = new Map<string, number>();
  private readonly shared: { mariadbd: number[]; redis: number[] };
  constructor(private readonly serverPid: number | undefined, external = true) {
    this.shared = external ? { mariadbd: pidsOf('mariadbd', 'mysqld'), redis: pidsOf('redis-server') } : { mariadbd: [], redis: [] };
  }
  private read(): Map<string, number> {
    const m = new Map<string, number>();
    const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => { try { return a + f(p); } catch { return a; } }, 0);
    if (this.serverPid) {
      const c = cpuSplitMs(this.serverPid);
      m.set('server', c.user + c.sys);
      m.set('server-sys', c.sys);
      m.set('server-write-bytes', writeBytes(this.serverPid));
    }
    if (this.shared.mariadbd.length) {
      m.set('mariadbd', sum(this.shared.mariadbd, cpuMs));
      m.set('mariadbd-write-bytes', sum(this.shared.mariadbd, writeBytes));
    }
    if (this.shared.redis.length) m.set('redis', sum(this.shared.redis, cpuMs));
    return m;
  }
  begin(): void {
    this.start = this.read();
  }
  /** CPU ms (and bytes written) over the window, per process group; a group not read is absent. */
  end(): Map<string, number> {
    const e = this.read();
    return new Map([...e].map(([k, v]) => [k, v - (this.start.get(k) ?? v)]));
  }
}

const EMBEDDED = 'n/a (embedded: none; SQLite and the queues run in the server process)';

/** Rows reporting CPU ms per unit (per message, per delivery), and storage writes per the first unit. */
export function cpuRows(cpu: Map<string, number> | undefined, units: Array<[string, number]>): Row[] {
  if (!cpu) return [{ item: 'server CPU', value: 'n/a (--server)' }];
  const rows: Row[] = [];
  for (const [what, n] of units) {
    const sys = (cpu.get('server-sys') ?? NaN) / n;
    rows.push({ item: `server CPU per ${what} (of it kernel)`, value: `${ms((cpu.get('server') ?? NaN) / n)} (${ms(sys)})` });
  }
  const [what, n] = units[0];
  const per = (key: string) => (cpu.has(key) ? ms(cpu.get(key)! / n) : EMBEDDED);
  rows.push({ item: `MariaDB CPU per ${what} (shared)`, value: per('mariadbd') });
  rows.push({ item: `Redis CPU per ${what} (shared)`, value: per('redis') });
  const kib = (key: string) => (cpu.has(key) ? `${(cpu.get(key)! / 1024 / n).toFixed(2)} KiB` : 'n/a');
  rows.push({ item: `storage writes per ${what}: server / MariaDB (shared)`, value: `${kib('server-write-bytes')} / ${kib('mariadbd-write-bytes')}` });
  return rows;
}
