import { existsSync, readFileSync } from 'node:fs';

/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): the top functions and
 * packages by self time. If <name>.window.json sits beside <name>.cpuprofile
 * (the runner writes it), only samples inside the measured window count.
 *
 *   node dist/bench/profile-summary.js bench/out/<name>.cpuprofile [--top 25] [--all] [--callers fn]
 *
 * --inclusive: also the top functions by inclusive time (the time of their
 * synchronous part and what it called; an async function's time after an
 * await counts where it resumes).
 * --callers fn: the packages whose code (nearest non-node caller) ran the
 * self time of function fn (e.g. writeBuffer: which driver's socket writes).
 */
interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[url.startsWith('node:internal') ? 1 : 0] ?? ''}`.replace(/\/.*/, '');
  const src = /\/dist\/(src\/[^/]+)/.exec(url);
  if (src) return `im-server ${src[1]}`;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  return d >= 0 ? url.slice(d + 1) : url.replace(/^file:\/\//, '');
}

function top(m: Map<string, number>, total: number, n: number, title: string): string {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  const lines = [`| ${title} | self ms | % |`, '|---|---:|---:|'];
  for (const [k, v] of rows) lines.push(`| ${k.replace(/\|/g, '\\|')} | ${(v / 1000).toFixed(0)} | ${((100 * v) / total).toFixed(1)} |`);
  return lines.join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top N] [--all]');
    process.exit(64);
  }
  const n = Number(args[args.indexOf('--top') + 1]) || 25;
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const windowFile = file.replace(/\.cpuprofile$/, '.window.json');
  let from = p.startTime;
  let to = p.endTime;
  if (!args.includes('--all') && existsSync(windowFile)) {
    const w = JSON.parse(readFileSync(windowFile, 'utf8')) as { startUs: number; endUs: number };
    from = Math.max(from, w.startUs);
    to = Math.min(to, w.endUs);
  }
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  /** The package of the nearest caller that is neither native nor node's own JS (so socket writes count for the driver that writes). */
  const callerPackage = (id: number): string => {
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) {
      const cf = byId.get(q)!.callFrame;
      if (cf.url && !cf.url.startsWith('node:')) return packageOf(cf.url, cf.functionName);
    }
    return packageOf(byId.get(id)!.callFrame.url, byId.get(id)!.callFrame.functionName);
  };
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const callersOf = args.includes('--callers') ? args[args.indexOf('--callers') + 1] : undefined;
  const callers = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const wantInclusive = args.includes('--inclusive');
  let t = p.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const dur = p.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to) continue;
    const cf = byId.get(p.samples[i])!.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += dur;
      continue;
    }
    total += dur;
    const fnKey = cf.url ? `${name} ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : name;
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + dur);
    const pkg = packageOf(cf.url, name);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + dur);
    const owner = name.startsWith('(') && !cf.url ? name : callerPackage(p.samples[i]);
    byCaller.set(owner, (byCaller.get(owner) ?? 0) + dur);
    if (wantInclusive) {
      const seen = new Set<string>();
      for (let q: number | undefined = p.samples[i]; q !== undefined; q = parent.get(q)) {
        const f = byId.get(q)!.callFrame;
        if (!f.url || f.url.startsWith('node:')) continue;
        const k = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dur);
      }
    }
    if (callersOf === name) {
      let q = parent.get(p.samples[i]);
      while (q !== undefined && (!byId.get(q)!.callFrame.url || byId.get(q)!.callFrame.url.startsWith('node:'))) q = parent.get(q);
      const cf2 = q === undefined ? undefined : byId.get(q)!.callFrame;
      const k = cf2 ? `${cf2.functionName || '(anonymous)'} ${shortUrl(cf2.url)}:${cf2.lineNumber + 1}` : '(none)';
      callers.set(k, (callers.get(k) ?? 0) + dur);
    }
  }
  const span = (to - from) / 1e6;
  console.log(`${file}\nwindow ${span.toFixed(1)} s${to - from < p.endTime - p.startTime ? ' (the measured window only)' : ''}: busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (main thread)\n`);
  console.log(top(byFn, total, n, 'function (self time)'));
  console.log();
  console.log(top(byPkg, total, n, 'package / module (self time)'));
  console.log();
  console.log(top(byCaller, total, n, 'package, with native and node: frames charged to their calling package'));
  if (wantInclusive) {
    console.log();
    console.log(top(inclusive, total, n, 'function (inclusive time, not node: internals)'));
  }
  if (callersOf) {
    console.log();
    console.log(top(callers, total, n, `nearest package caller of ${callersOf}`));
  }
}

main();
