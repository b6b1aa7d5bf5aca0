import { type Account, befriend, connect, http, inBatches, opFor, registerMany, SUBSCRIPTIONS, syncAll } from '../lib/gql';
import { openDb } from '../lib/db';
import { seedMessages } from '../lib/seed';
import type { Target } from '../lib/server';
import { CpuMeter, int, loadavg, monoUs, ms, now, type Row, sleep, summarize } from '../lib/util';
import { type Options, saveWindow } from './common';

const MESSAGES = 5000;
const OTHERS = 1_000_000;
const RUNS = 5;
const SEEDING = {
  mariadb: 'multi-row INSERTs of 1,000 on 3 connections',
  sqlite: 'prepared INSERTs into the server\'s SQLite file while it runs, 10,000 per transaction',
};

interface Run { ms: number; held: number; pages: number; refused: number; serverCpuMs: number; connectMs: number; syncMs: number; ackMs: number }

/**
 * One catch-up: the socket connects (the clock starts), subscribes the three
 * subscriptions, runs sync + acknowledgeSync (limit 500) to the end; the
 * clock stops when the device holds every expected message.
 */
async function catchUp(t: Target, o: Options, who: Account, expected: number): Promise<Run> {
  const meter = new CpuMeter(t.pid, t.stack !== 'embedded');
  meter.begin();
  const t0 = now();
  const { client, acked } = connect(t.wsUrl, who.token);
  const connectMs = await acked;
  const ignore = { next: () => undefined, error: () => undefined, complete: () => undefined };
  for (const query of Object.values(SUBSCRIPTIONS)) client.subscribe({ query }, ignore);
  const r = await syncAll<{ id: string }>(opFor(o.transport, t.url, client, who.token), 500);
  const held = new Set(r.messages.map((m) => m.id)).size;
  const elapsed = now() - t0;
  const cpu = meter.end().get('server') ?? NaN;
  await client.dispose();
  if (held < expected) throw new Error(`catch-up ended holding ${held} of ${expected}`);
  return { ms: elapsed, held, pages: r.pages, refused: r.refused, serverCpuMs: cpu, connectMs, syncMs: r.syncMs, ackMs: r.ackMs };
}

/** RUNS catch-ups of the same backlog; between them the device's cursor is put back where its login left it. */
async function measure(t: Target, o: Options, who: Account, reset: () => Promise<void>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < (t.stack ? RUNS : 1); i++) {
    await reset();
    runs.push(await catchUp(t, o, who, MESSAGES));
    await sleep(500); // the server detaches (and fences) the closed socket
  }
  return runs;
}

function rows(t: Target, label: string, others: string, runs: Run[]): Row[] {
  const s = summarize(runs.map((r) => r.ms));
  const median = [...runs].sort((x, y) => x.ms - y.ms)[Math.floor((runs.length - 1) / 2)];
  const cpu = summarize(runs.map((r) => r.serverCpuMs));
  return [
    { item: `[${label}] other messages in the table`, value: others },
    { item: `[${label}] connect to holding all ${int(MESSAGES)}, median of ${runs.length}`, value: ms(s.p50), target: '<= 100 ms', pass: s.p50 <= 100 },
    { item: `[${label}] first run (cold) / worst`, value: `${ms(runs[0].ms)} / ${ms(s.max)}` },
    { item: `[${label}] all runs`, value: runs.map((r) => r.ms.toFixed(0)).join(', ') + ' ms' },
    { item: `[${label}] sync pages / refused acks (median run)`, value: `${median.pages} / ${median.refused}` },
    { item: `[${label}] of the median run: connect / sync reads / acks`, value: `${ms(median.connectMs)} / ${ms(median.syncMs)} / ${ms(median.ackMs)}` },
    { item: `[${label}] lost`, value: int(MESSAGES - Math.min(...runs.map((r) => r.held))), target: '0', pass: runs.every((r) => r.held >= MESSAGES) },
    { item: `[${label}] server CPU per catch-up (median)`, value: t.pid ? ms(cpu.p50) : 'n/a (--server)' },
  ];
}

/**
 * 5,000 messages wait for an offline device, which then connects and runs the
 * D14 sync to the end. With our own server the messages are seeded as rows
 * (the device logged in before them, so its cursor is below them), once with
 * the message table otherwise empty and once with `--others` (default
 * 1,000,000) other messages interleaved with them: into MariaDB (cluster) or
 * into the embedded server's SQLite file while it runs (lib/db.ts). Against
 * --server they are sent through the API.
 */
export async function catchUpScenario(t: Target, o: Options): Promise<Row[]> {
  const out: Row[] = [
    { item: 'messages to catch up', value: int(MESSAGES) },
    { item: 'sync page limit', value: '500' },
    { item: 'queries and acks over', value: o.transport === 'ws' ? 'graphql-ws socket' : 'HTTP (fetch, keep-alive)' },
    { item: 'load average before', value: loadavg() },
  ];
  const [peer, a, b] = await registerMany(t.url, 3, 'cu');
  await befriend(t.url, peer, a);
  await befriend(t.url, peer, b);
  const startUs = monoUs();
  const db = openDb(t);
  if (!db) {
    await inBatches(Array.from({ length: MESSAGES }, (_, i) => i), 16, (i) =>
      http(t.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', { i: { to: { userId: a.id }, clientMsgId: `cu-${i}`, type: 'TEXT', content: `catch-up ${i}` } }, peer.token));
    out.push(...rows(t, 'api', 'unknown (--server)', await measure(t, o, a, async () => undefined)));
    return out;
  }
  try {
    const cursorOf = async (u: Account) => Number((await db.all<{ last_ack: number }>('SELECT last_ack FROM device_cursor WHERE user_id = ? AND device_id = ?', [u.id, u.deviceId]))[0].last_ack);
    const resetTo = (u: Account, lastAck: number) => () =>
      db.run('UPDATE device_cursor SET last_ack = ?, last_ack_err = NULL WHERE user_id = ? AND device_id = ?', [lastAck, u.id, u.deviceId]).then(() => undefined);
    const aAck = await cursorOf(a);
    const bAck = await cursorOf(b);
    const first = await seedMessages(db, { sender: peer.id, receiver: a.id, mine: MESSAGES, others: 0, otherConversations: 0 });
    out.push({ item: `seeding ${int(MESSAGES)} rows (${SEEDING[db.kind]})`, value: `${first.seconds.toFixed(1)} s` });
    out.push(...rows(t, 'empty', '0', await measure(t, o, a, resetTo(a, aAck))));
    const others = o.others ?? OTHERS;
    const label = others === OTHERS ? '1M' : int(others);
    const seeded = await seedMessages(db, { sender: peer.id, receiver: b.id, mine: MESSAGES, others, otherConversations: 1000 });
    out.push({ item: `seeding ${int(MESSAGES + others)} rows (${SEEDING[db.kind]})`, value: `${seeded.seconds.toFixed(1)} s (${int((MESSAGES + others) / seeded.seconds)} rows/s)` });
    const [{ n }] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM message');
    out.push(...rows(t, label, `${int(Number(n) - MESSAGES)} (${int(MESSAGES)} of them the first run's)`, await measure(t, o, b, resetTo(b, bAck))));
  } finally {
    await db.end();
  }
  saveWindow(o.profile, startUs, monoUs());
  return out;
}
