import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Account, Transport } from '../lib/gql';
import { Workers } from '../lib/pool';
import { OUT_DIR, type Target } from '../lib/server';
import type { Drained, FinalResult, SenderSpec, Stopped } from '../lib/traffic';
import { CpuMeter, int, loadavg, monoUs, ms, now, type Row, type Summary, summarize } from '../lib/util';

export interface Options {
  duration: number;
  /** Total message bound (default: none for traffic, the scenario's count otherwise). */
  messages?: number;
  transport: Transport;
  workers?: number;
  contentSize: number;
  /** Set with --profile: the name of the .cpuprofile, and where the measured window is written. */
  profile?: string;
  connections?: number;
  /** one-to-one: sender/receiver pairs (default 20). */
  pairs?: number;
  /** catch-up: other messages in the table for the large case (default 1,000,000). */
  others?: number;
}

export interface Plan { senders: SenderSpec[]; receivers: Account[]; targets: Record<string, string[]> }

export interface TrafficResult {
  messages: number;
  expected: number;
  pushed: number;
  late: number;
  lost: number;
  healedByHistory: number;
  duplicates: number;
  seconds: number;
  latency: Summary;
  sendRtt: Summary;
  sendErrors: number;
  warmupErrors: number;
  errorSamples: string[];
  ackBatches: number;
  cpu?: Map<string, number>;
  loadCpuMs: number;
  drainedComplete: boolean;
  loadBefore: string;
}

/** Writes the measured window (CLOCK_MONOTONIC µs, the clock of .cpuprofile) for profile-summary. */
export function saveWindow(name: string | undefined, startUs: number, endUs: number): void {
  if (!name) return;
  writeFileSync(path.join(OUT_DIR, `${name}.window.json`), JSON.stringify({ startUs, endUs }));
}

/**
 * The measured part of one-to-one and group: workers connect their devices and
 * catch up (outside the window), then send for `duration` s or until the
 * message bound, then wait for the pushes to drain; CPU is read around that.
 * A final D14 sync per receiver then separates late from lost.
 */
export async function runTraffic(t: Target, o: Options, plans: Plan[]): Promise<TrafficResult> {
  const w = new Workers(plans.length);
  try {
    await w.all((i) => ({ cmd: 'prepare', url: t.url, wsUrl: t.wsUrl, transport: o.transport, senders: plans[i].senders, receivers: plans[i].receivers, contentSize: o.contentSize }));
    const senders = plans.reduce((n, p) => n + p.senders.length, 0);
    const maxPerSender = o.messages ? Math.ceil(o.messages / senders) : Number.MAX_SAFE_INTEGER;
    const loadBefore = loadavg();
    const meter = new CpuMeter(t.pid, t.stack !== 'embedded');
    const startUs = monoUs();
    meter.begin();
    const t0 = now();
    const stopped = await w.all<Stopped>({ cmd: 'go', until: t0 + o.duration * 1000, maxPerSender });
    const sent = Object.assign({}, ...stopped.map((s) => s.sent)) as Record<string, string[]>;
    const targets = Object.assign({}, ...plans.map((p) => p.targets)) as Record<string, string[]>;
    const drained = await w.all<Drained>({ cmd: 'drain', sent, targets, timeoutMs: 15_000 });
    const cpu = t.pid ? meter.end() : undefined;
    saveWindow(o.profile, startUs, monoUs());
    const finals = await w.all<FinalResult>({ cmd: 'final' });
    const sum = (f: (r: FinalResult) => number) => finals.reduce((a, r) => a + f(r), 0);
    const lastPush = Math.max(...drained.map((d) => d.lastPushAt));
    return {
      messages: Object.values(sent).reduce((a, ids) => a + ids.length, 0),
      expected: sum((r) => r.expected),
      pushed: sum((r) => r.pushed),
      late: sum((r) => r.late),
      lost: sum((r) => r.lost),
      healedByHistory: sum((r) => r.healedByHistory),
      duplicates: sum((r) => r.duplicates),
      seconds: (lastPush - t0) / 1000,
      latency: summarize(finals.flatMap((r) => r.latencies)),
      sendRtt: summarize(stopped.flatMap((s) => s.sendRtt)),
      sendErrors: stopped.reduce((a, s) => a + s.sendErrors, 0),
      warmupErrors: stopped.reduce((a, s) => a + s.warmupErrors, 0),
      errorSamples: stopped.flatMap((s) => s.errorSamples),
      ackBatches: sum((r) => r.ackBatches),
      cpu,
      loadCpuMs: sum((r) => r.loadCpuMs),
      drainedComplete: drained.every((d) => d.complete),
      loadBefore,
    };
  } finally {
    await w.close();
  }
}

/** Rows every traffic run reports after its headline figures. */
export function trafficRows(r: TrafficResult): Row[] {
  return [
    { item: 'messages sent (returned by sendMessage)', value: int(r.messages) },
    { item: 'deliveries expected', value: int(r.expected) },
    { item: 'delivered by push', value: int(r.pushed) },
    { item: 'delivered late (final sync)', value: int(r.late) },
    { item: 'lost (in neither push nor final sync)', value: int(r.lost), target: '0', pass: r.lost === 0 },
    ...(r.lost ? [{ item: 'of the lost: found by the seq-gap history check (D14 step 6)', value: int(r.healedByHistory) }] : []),
    { item: 'duplicates (same id pushed twice)', value: int(r.duplicates), target: '0', pass: r.duplicates === 0 },
    { item: 'window (first send to last push)', value: `${r.seconds.toFixed(2)} s` },
    { item: 'sendMessage round trip p50 / p99', value: `${ms(r.sendRtt.p50)} / ${ms(r.sendRtt.p99)}` },
    { item: 'sendMessage errors in the window (sent again, same clientMsgId)', value: int(r.sendErrors) },
    { item: 'sendMessage errors on the warm-up (first message per sender)', value: int(r.warmupErrors) },
    ...(r.errorSamples.length ? [{ item: 'sendMessage error codes seen', value: r.errorSamples.join(', ').replace(/\|/g, '/') }] : []),
    { item: 'acknowledge calls (batched pushes)', value: int(r.ackBatches) },
  ];
}
