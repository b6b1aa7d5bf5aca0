import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { type BenchDb, openDb } from '../lib/db';
import { mintToken, registerMany } from '../lib/gql';
import { Workers } from '../lib/pool';
import type { Target } from '../lib/server';
import { seedSessions } from '../lib/seed';
import { CpuMeter, int, loadavg, monoUs, ms, type Row, rssKb, sleep, summarize } from '../lib/util';
import type { SocketsOpened } from '../lib/worker';
import { type Options, saveWindow } from './common';

const USERS = 500;
const kib = (bytes: number | undefined, n: number) => (bytes === undefined ? 'n/a' : `${(bytes / 1024 / n).toFixed(2)} KiB`);
const BATCH = 200;

/** Cluster: how many sockets have their `messages` subscription live (presence entries in Redis), summed over the users. */
async function present(t: Target, userIds: string[]): Promise<number> {
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  try {
    const p = redis.pipeline();
    for (const id of userIds) p.zcard(`${t.prefix}presence:${id}`);
    const res = (await p.exec()) ?? [];
    return res.reduce((a, [, n]) => a + Number(n), 0);
  } finally {
    redis.disconnect();
  }
}

/**
 * Embedded: presence lives in the server's memory, out of the bench's reach.
 * What it can read is the attach's fence (D7), the write that comes right
 * before the device is marked present: the cursor rows of the minted devices.
 */
async function fenced(db: BenchDb): Promise<number> {
  return Number((await db.all<{ n: number }>("SELECT COUNT(*) AS n FROM device_cursor WHERE device_id LIKE 'bench-%'"))[0].n);
}

/**
 * N idle authenticated graphql-ws sockets, each with the three subscriptions,
 * opened BATCH at a time across the load workers. 500 users; each socket is
 * its own device (tokens signed with the server's secret when the runner
 * started it, each with a session row seeded for it; against --server each
 * user's one token is shared by its sockets).
 */
export async function sockets(t: Target, o: Options): Promise<Row[]> {
  const total = o.connections ?? 10_000;
  const users = await registerMany(t.url, USERS, 'sock');
  const per = Math.ceil(total / USERS);
  const tokens: string[] = [];
  const sessions: Array<{ id: string; userId: string; deviceId: string }> = [];
  for (let k = 0; k < per; k++) {
    for (const u of users) {
      if (tokens.length >= total) continue;
      if (!t.jwtSecret) {
        tokens.push(u.token);
        continue;
      }
      const s = { id: randomUUID(), userId: u.id, deviceId: `bench-${u.id}-${k}` };
      sessions.push(s);
      tokens.push(mintToken(t.jwtSecret, u.id, s.deviceId, s.id));
    }
  }
  const db = openDb(t);
  if (db && sessions.length) await seedSessions(db, sessions);
  const workers = o.workers ?? 2;
  const w = new Workers(workers);
  try {
    await sleep(1000);
    const rss0 = t.pid ? rssKb(t.pid) : NaN;
    const meter = new CpuMeter(t.pid, t.stack !== 'embedded');
    const loadBefore = loadavg();
    const startUs = monoUs();
    meter.begin();
    const t0 = Date.now();
    const until = t0 + o.duration * 1000;
    const shares = Array.from({ length: workers }, (_, i) => tokens.filter((_, j) => j % workers === i));
    const opened = await w.all<SocketsOpened>((i) => ({ cmd: 'sockets', wsUrl: t.wsUrl, tokens: shares[i], batch: Math.ceil(BATCH / workers), until }));
    const openMs = Date.now() - t0;
    const connected = opened.reduce((a, r) => a + r.connectMs.length, 0);
    let live = NaN;
    if (t.prefix) {
      const ids = users.map((u) => u.id);
      while ((live = await present(t, ids)) < connected && Date.now() < until + 30_000) await sleep(250);
    } else if (db && t.stack === 'embedded') {
      while ((live = await fenced(db)) < connected && Date.now() < until + 30_000) await sleep(250);
      await sleep(250); // the in-memory mark follows each fence at once
    } else {
      await sleep(3000);
    }
    const cpu = t.pid ? meter.end() : undefined;
    saveWindow(o.profile, startUs, monoUs());
    await sleep(2000);
    const rss1 = t.pid ? rssKb(t.pid) : NaN;
    const c = summarize(opened.flatMap((r) => r.connectMs));
    const perConnKb = (rss1 - rss0) / connected;
    return [
      { item: 'connections', value: int(total) },
      { item: 'users x devices', value: `${USERS} x ${per}${t.jwtSecret ? '' : ' (shared token)'}` },
      { item: 'subscriptions per socket', value: 'messages, notifications, readReceipts' },
      { item: 'opened in parallel', value: String(BATCH) },
      { item: 'load workers', value: String(workers) },
      { item: 'load average before', value: loadBefore },
      { item: 'connected (connection_ack)', value: int(connected), target: int(total), pass: connected === total },
      {
        item: t.stack === 'embedded' ? 'messages subscriptions fenced (device_cursor rows; presence is in the server)' : 'messages subscriptions live (presence)',
        value: Number.isNaN(live) ? 'n/a (--server)' : int(live),
      },
      { item: 'failed', value: int(opened.reduce((a, r) => a + r.failed, 0)) + (opened.some((r) => r.errors.length) ? ` (${opened.flatMap((r) => r.errors)[0]})` : '') },
      { item: 'time to open all', value: `${(openMs / 1000).toFixed(1)} s` },
      { item: 'connect (open to connection_ack) p50', value: ms(c.p50) },
      { item: 'connect p95', value: ms(c.p95) },
      { item: 'connect p99', value: ms(c.p99) },
      { item: 'server RSS before / after', value: t.pid ? `${int(rss0 / 1024)} MiB / ${int(rss1 / 1024)} MiB` : 'n/a (--server)' },
      { item: 'server memory per connection (RSS delta / connections)', value: t.pid ? `${perConnKb.toFixed(1)} KiB` : 'n/a (--server)', target: '<= 50 KB', pass: t.pid ? perConnKb * 1.024 <= 50 : undefined },
      { item: 'server CPU per connection (connect + 3 subscribes)', value: cpu ? ms((cpu.get('server') ?? NaN) / connected) : 'n/a (--server)' },
      {
        item: 'MariaDB / Redis CPU per connection (shared)',
        value: !cpu ? 'n/a' : t.stack === 'embedded' ? 'n/a (embedded)' : `${ms((cpu.get('mariadbd') ?? NaN) / connected)} / ${ms((cpu.get('redis') ?? NaN) / connected)}`,
      },
      {
        item: 'storage writes per connection: server / MariaDB (shared)',
        value: !cpu ? 'n/a' : `${kib(cpu.get('server-write-bytes'), connected)} / ${kib(cpu.get('mariadbd-write-bytes'), connected)}`,
      },
    ];
  } finally {
    await w.close();
    await db?.end();
  }
}
