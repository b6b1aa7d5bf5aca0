import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { explainDeliveryPath } from './lib/explain';
import { external, OUT_DIR, type Stack, startServer, type Target } from './lib/server';
import { table, type Row } from './lib/util';
import { catchUpScenario } from './scenarios/catch-up';
import type { Options } from './scenarios/common';
import { group } from './scenarios/group';
import { oneToOne } from './scenarios/one-to-one';
import { sockets } from './scenarios/sockets';

const SCENARIOS: Record<string, (t: Target, o: Options) => Promise<Row[]>> = {
  'one-to-one': oneToOne,
  group,
  'catch-up': catchUpScenario,
  sockets,
};

const STACKS: Record<Stack, string> = {
  cluster: 'cluster: MariaDB + Redis',
  embedded: 'embedded: SQLite (WAL, synchronous=FULL) in a temporary DATA_DIR, in-process presence, buses and queues',
};

const USAGE = `usage: npm run bench -- <${Object.keys(SCENARIOS).join('|')}|all> [options]
  --duration S        bound of the measured window in seconds (default 30)
  --messages N        also stop after N messages in total (traffic scenarios)
  --connections N     sockets to open (sockets; default 10000)
  --pairs N           sender/receiver pairs (one-to-one; default 20)
  --transport ws|http mutations and queries over the socket (default) or over HTTP
  --workers N         forked load processes (default 1; sockets 2)
  --content-size N    characters per message (default 64)
  --others N          catch-up: other messages in the table for the large case (default 1000000)
  --stack S           the server the runner starts: cluster (MariaDB + Redis, default) or
                      embedded (SQLite in a fresh temporary DATA_DIR, no DATABASE_URL/REDIS_URL)
  --server URL        target a running server (no CPU, memory or SQL then)
  --dist DIR          the build to start (DIR/src/main.js; default dist), e.g. a copy taken
                      so that concurrent rebuilds of dist/ cannot change the server mid-series
  --profile           run the server with --cpu-prof into bench/out/ (see bench/profile-summary.ts)
  --explain           after the run, EXPLAIN each SQL statement of the send and delivery path
  --json FILE         also write the rows as JSON`;

function parse(argv: string[]) {
  const [scenario, ...rest] = argv;
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(rest[i]);
    if (!m) throw new Error(`unexpected argument ${rest[i]}`);
    const [, name, inline] = m;
    if (inline !== undefined) flags[name] = inline;
    else if (['profile', 'explain'].includes(name)) flags[name] = true;
    else flags[name] = rest[++i] ?? '';
  }
  const num = (name: string) => (flags[name] === undefined ? undefined : Number(flags[name]));
  const transport = (flags.transport as string | undefined) ?? 'ws';
  if (!['ws', 'http'].includes(transport)) throw new Error('--transport is ws or http');
  const stack = (flags.stack as string | undefined) ?? 'cluster';
  if (!['cluster', 'embedded'].includes(stack)) throw new Error('--stack is cluster or embedded');
  if (flags.stack !== undefined && flags.server !== undefined) throw new Error('--stack chooses the server the runner starts; --server targets one already running');
  const options: Options = {
    duration: num('duration') ?? 30,
    messages: num('messages'),
    connections: num('connections'),
    pairs: num('pairs'),
    others: num('others'),
    transport: transport as Options['transport'],
    workers: num('workers'),
    contentSize: num('content-size') ?? 64,
  };
  return { scenario, options, flags, stack: stack as Stack };
}

async function runOne(name: string, options: Options, flags: Record<string, string | true>, stack: Stack): Promise<string> {
  const profile = flags.profile ? `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}` : undefined;
  const dist = typeof flags.dist === 'string' ? path.resolve(flags.dist) : undefined;
  const server = typeof flags.server === 'string' ? external(flags.server) : await startServer({ profile, dist, stack });
  let out = '';
  try {
    const started = new Date().toISOString();
    const rows = await SCENARIOS[name](server, { ...options, profile });
    if (server.build) rows.unshift({ item: 'server', value: server.build }, { item: 'stack', value: STACKS[stack] });
    const log = server.logSummary?.();
    if (log) {
      rows.push({ item: 'server log: errors / warnings', value: `${log.errors} / ${log.warnings}${log.first ? ` (first: ${log.first})` : ''}` });
    }
    out = table(`${name} (${started}${typeof flags.server === 'string' ? `, server ${flags.server}` : ''})`, rows);
    console.log(out);
    if (flags.explain && server.db) console.log(await explainDeliveryPath(server.db));
    else if (flags.explain && server.dataDir) console.log('--explain: n/a on the embedded stack (the statements and their plans are MariaDB\'s)\n');
    if (typeof flags.json === 'string') writeFileSync(flags.json, JSON.stringify({ scenario: name, started, rows }, null, 2));
  } finally {
    await server.stop();
  }
  if (profile) console.log(`profile: node dist/bench/profile-summary.js ${path.join(OUT_DIR, `${profile}.cpuprofile`)}\n`);
  return out;
}

async function main(): Promise<void> {
  const { scenario, options, flags, stack } = parse(process.argv.slice(2));
  if (!scenario || (scenario !== 'all' && !SCENARIOS[scenario])) {
    console.error(USAGE);
    process.exit(64);
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const names = scenario === 'all' ? Object.keys(SCENARIOS) : [scenario];
  let failed = false;
  for (const name of names) {
    try {
      await runOne(name, options, flags, stack);
    } catch (e) {
      failed = true;
      console.error(`${name} failed: ${(e as Error).stack ?? e}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('interrupted: stopping (the server child and its database are cleaned up); Ctrl-C again to quit at once');
  // Let the running scenario's finally blocks stop the server child and clean up.
  setTimeout(() => process.exit(130), 30_000).unref();
});

void main();
