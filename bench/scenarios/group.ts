import { befriend, createGroup, inBatches, registerMany } from '../lib/gql';
import type { Target } from '../lib/server';
import { cpuRows, int, ms, type Row } from '../lib/util';
import { type Options, type Plan, runTraffic, trafficRows } from './common';

const MEMBERS = 200;
const ONLINE_RECEIVERS = 39;

/**
 * One group of 200 (the owner, who sends, and 199 friends of the owner);
 * the sender and 39 receivers are online, the other 160 are offline.
 * One message in flight. Receivers may sit in several load workers.
 */
export async function group(t: Target, o: Options): Promise<Row[]> {
  const [owner, ...members] = await registerMany(t.url, MEMBERS, 'grp');
  await inBatches(members, 8, (m) => befriend(t.url, owner, m));
  const groupId = await createGroup(t.url, owner, members);
  const online = members.slice(0, ONLINE_RECEIVERS);
  const workers = o.workers ?? 1;
  const plans: Plan[] = Array.from({ length: workers }, () => ({ senders: [], receivers: [], targets: {} }));
  const key = `g-${owner.id}`;
  plans[0].senders.push({ key, account: owner, to: { groupId } });
  online.forEach((m, i) => {
    plans[i % workers].receivers.push(m);
    plans[i % workers].targets[m.id] = [key];
  });
  const r = await runTraffic(t, o, plans);
  const rate = r.pushed / r.seconds;
  return [
    { item: 'group members', value: String(MEMBERS) },
    { item: 'online (sender + receivers)', value: `1 + ${ONLINE_RECEIVERS}` },
    { item: 'in flight', value: '1' },
    { item: 'duration bound', value: `${o.duration} s${o.messages ? ` or ${int(o.messages)} messages` : ''}` },
    { item: 'mutations over', value: o.transport === 'ws' ? 'graphql-ws socket' : 'HTTP (fetch, keep-alive)' },
    { item: 'content size', value: `${o.contentSize} chars` },
    { item: 'load workers', value: String(workers) },
    { item: 'load average before', value: r.loadBefore },
    { item: 'deliveries/s', value: int(rate), target: '>= 15,000', pass: rate >= 15000 },
    { item: 'messages/s', value: int(r.messages / r.seconds) },
    { item: 'latency p50', value: ms(r.latency.p50) },
    { item: 'latency p95', value: ms(r.latency.p95) },
    { item: 'latency p99', value: ms(r.latency.p99), target: '<= 50 ms', pass: r.latency.p99 <= 50 },
    { item: 'latency max', value: ms(r.latency.max) },
    ...trafficRows(r),
    ...cpuRows(r.cpu, [['message', r.messages], ['delivery', r.pushed]]),
    { item: 'load generator CPU per delivery', value: ms(r.loadCpuMs / r.pushed) },
  ];
}
