import { befriend, inBatches, registerMany } from '../lib/gql';
import type { Target } from '../lib/server';
import { cpuRows, int, ms, type Row } from '../lib/util';
import { type Options, type Plan, runTraffic, trafficRows } from './common';


/**
 * 20 sender/receiver pairs, one message in flight per pair; receivers
 * acknowledge every push. Each pair lives in one load worker, so its latency
 * is measured on one process's clock.
 */
export async function oneToOne(t: Target, o: Options): Promise<Row[]> {
  const PAIRS = o.pairs ?? 20;
  const users = await registerMany(t.url, PAIRS * 2, 'o2o');
  const pairs = Array.from({ length: PAIRS }, (_, i) => ({ sender: users[2 * i], receiver: users[2 * i + 1] }));
  await inBatches(pairs, 8, (p) => befriend(t.url, p.sender, p.receiver));
  const workers = o.workers ?? 1;
  const plans: Plan[] = Array.from({ length: workers }, () => ({ senders: [], receivers: [], targets: {} }));
  pairs.forEach((p, i) => {
    const plan = plans[i % workers];
    const key = `p${i}-${p.sender.id}`;
    plan.senders.push({ key, account: p.sender, to: { userId: p.receiver.id } });
    plan.receivers.push(p.receiver);
    plan.targets[p.receiver.id] = [key];
  });
  const r = await runTraffic(t, o, plans);
  const rate = r.pushed / r.seconds;
  return [
    { item: 'pairs', value: String(PAIRS) },
    { item: 'in flight per pair', value: '1' },
    { item: 'duration bound', value: `${o.duration} s${o.messages ? ` or ${int(o.messages)} messages` : ''}` },
    { item: 'mutations over', value: o.transport === 'ws' ? 'graphql-ws socket' : 'HTTP (fetch, keep-alive)' },
    { item: 'content size', value: `${o.contentSize} chars` },
    { item: 'load workers', value: String(workers) },
    { item: 'load average before', value: r.loadBefore },
    { item: 'delivered messages/s', value: int(rate), target: '>= 3,000', pass: rate >= 3000 },
    { item: 'latency p50', value: ms(r.latency.p50) },
    { item: 'latency p95', value: ms(r.latency.p95) },
    { item: 'latency p99', value: ms(r.latency.p99), target: '<= 25 ms', pass: r.latency.p99 <= 25 },
    { item: 'latency max', value: ms(r.latency.max) },
    ...trafficRows(r),
    ...cpuRows(r.cpu, [['message', r.messages]]),
    { item: 'load generator CPU per message', value: ms(r.loadCpuMs / r.messages) },
  ];
}
