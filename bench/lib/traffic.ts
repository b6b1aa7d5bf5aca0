import type { Client } from 'graphql-ws';
import { type Account, connect, MSG, type Op, opFor, SUBSCRIPTIONS, syncAll, type Transport } from './gql';
import { now, sleep } from './util';

/** One sender: sends to `to`, one message in flight. `key` names it in the results. */
export interface SenderSpec { key: string; account: Account; to: { userId?: string; groupId?: string } }

export interface Prepare { cmd: 'prepare'; url: string; wsUrl: string; transport: Transport; senders: SenderSpec[]; receivers: Account[]; contentSize: number }
export interface Go { cmd: 'go'; until: number; maxPerSender: number }
/** `sent` is every sender's returned ids by key; `targets` names, per receiver user id, the keys whose messages it must get. */
export interface Drain { cmd: 'drain'; sent: Record<string, string[]>; targets: Record<string, string[]>; timeoutMs: number }
export interface Final { cmd: 'final' }

export interface Stopped { sent: Record<string, string[]>; sendRtt: number[]; sendErrors: number; warmupErrors: number; errorSamples: string[]; loadCpuMs: number }
export interface Drained { complete: boolean; lastPushAt: number }
export interface FinalResult {
  latencies: number[];
  expected: number;
  pushed: number;
  late: number;
  lost: number;
  /** Of the lost: found by D14 step 6 (a seq gap, filled with history(afterSeq)). */
  healedByHistory: number;
  duplicates: number;
  ackBatches: number;
  ackErrors: number;
  finalSyncPages: number;
  loadCpuMs: number;
}

interface Device { account: Account; client: Client; op: Op }
interface Receiver extends Device {
  pushed: Set<string>;
  /** Seqs seen per conversation (group id or peer id), for the D14 step 6 gap check. */
  seqs: Map<string, { with: { userId?: string; groupId?: string }; seqs: number[] }>;
  duplicates: number;
  pending: string[];
  flushing: boolean;
}
interface Msg { id: string; seq: number; content: string; groupId: string | null; sender: { id: string } }

function seen(r: Receiver, m: Msg): void {
  const key = m.groupId ? `g${m.groupId}` : `u${m.sender.id}`;
  let c = r.seqs.get(key);
  if (!c) r.seqs.set(key, (c = { with: m.groupId ? { groupId: m.groupId } : { userId: m.sender.id }, seqs: [] }));
  c.seqs.push(m.seq);
}

const HISTORY = `query($w: ConversationInput!, $a: Int) { history(with: $w, afterSeq: $a, limit: 200) { messages { ${MSG} } hasMore } }`;

/** D14 step 6: the ids a receiver finds by filling each conversation's seq gaps with history(afterSeq). */
async function fillGaps(r: Receiver): Promise<Set<string>> {
  const found = new Set<string>();
  for (const c of r.seqs.values()) {
    const seqs = [...new Set(c.seqs)].sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] === seqs[i - 1] + 1) continue;
      const { history } = await r.op<{ history: { messages: Msg[] } }>(HISTORY, { w: c.with, a: seqs[i - 1] });
      for (const m of history.messages) if (m.seq < seqs[i]) found.add(m.id);
    }
  }
  return found;
}

const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq createdAt } }';
const ACK = 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }';
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * The load of one worker process: D14 clients for senders and receivers.
 * Receivers record receipt time minus the send time carried in the content,
 * and acknowledge every push (pushes that arrive together in one ack).
 */
export class Traffic {
  private senders: Array<SenderSpec & Device> = [];
  private receivers: Receiver[] = [];
  private latencies: number[] = [];
  private ackBatches = 0;
  private ackErrors = 0;
  private contentPad = '';
  private cpu0 = 0;
  private sendErrors = 0;
  private warmupErrors = 0;
  private errorSamples: string[] = [];
  private lastPushAt = 0;
  private expected: Record<string, string[]> = {};

  async prepare(p: Prepare): Promise<void> {
    this.contentPad = 'x'.repeat(Math.max(0, p.contentSize - 18));
    const open = async (account: Account): Promise<Device> => {
      const { client, acked } = connect(p.wsUrl, account.token);
      await acked;
      return { account, client, op: opFor(p.transport, p.url, client, account.token) };
    };
    this.receivers = await Promise.all(p.receivers.map(async (a) => {
      const r: Receiver = { ...(await open(a)), pushed: new Set(), seqs: new Map(), duplicates: 0, pending: [], flushing: false };
      this.subscribe(r, true);
      return r;
    }));
    this.senders = await Promise.all(p.senders.map(async (s) => {
      const d = await open(s.account);
      this.subscribe(d, false);
      return { ...s, ...d };
    }));
    // D14 step 3 for every device before traffic starts.
    await Promise.all([...this.receivers, ...this.senders].map((d) => syncAll(d.op)));
    // One message per sender first, so conversations exist and caches are warm before the window.
    await Promise.all(this.senders.map((s) => this.send(s, `${s.key}-warmup`, now())));
    const deadline = now() + 10_000;
    while (this.receivers.some((r) => r.pushed.size < 1 || r.flushing) && now() < deadline) await sleep(10);
    this.warmupErrors = this.sendErrors;
    this.sendErrors = 0;
    this.latencies = [];
    this.cpu0 = cpu();
  }

  private subscribe(d: Device, receive: boolean): void {
    const ignore = { next: () => undefined, error: () => undefined, complete: () => undefined };
    d.client.subscribe({ query: SUBSCRIPTIONS.notifications }, ignore);
    d.client.subscribe({ query: SUBSCRIPTIONS.readReceipts }, ignore);
    d.client.subscribe<{ messages: Msg }>({ query: SUBSCRIPTIONS.messages }, {
      next: (v) => {
        const m = v.data?.messages;
        if (!m || !receive) return;
        const r = d as Receiver;
        const at = now();
        if (r.pushed.has(m.id)) r.duplicates++;
        else {
          r.pushed.add(m.id);
          seen(r, m);
          const sentAt = Number(m.content.slice(0, m.content.indexOf('|')));
          if (sentAt > 0) this.latencies.push(at - sentAt);
          this.lastPushAt = at;
        }
        r.pending.push(m.id);
        if (!r.flushing) {
          r.flushing = true;
          setImmediate(() => void this.flush(r));
        }
      },
      error: () => undefined,
      complete: () => undefined,
    });
  }

  private async flush(r: Receiver): Promise<void> {
    while (r.pending.length) {
      const ids = r.pending.splice(0, 500);
      this.ackBatches++;
      await r.op(ACK, { ids }).catch(() => this.ackErrors++);
    }
    r.flushing = false;
  }

  /** sendMessage until the server returns it; on an error, again with the same clientMsgId (D14: stored once). */
  private async send(s: SenderSpec & Device, clientMsgId: string, t: number): Promise<string> {
    const input = { to: s.to, clientMsgId, type: 'TEXT', content: `${t.toFixed(3)}|${this.contentPad}` };
    for (let attempt = 0; ; attempt++) {
      try {
        return (await s.op(SEND, { i: input })).sendMessage.id;
      } catch (e) {
        this.sendErrors++;
        const msg = String((e as Error).message);
        const text = /"code":"([A-Z_]+)"/.exec(msg)?.[1] ?? msg.slice(0, 80);
        if (this.errorSamples.length < 3 && !this.errorSamples.includes(text)) this.errorSamples.push(text);
        if (attempt >= 5) throw e;
        await sleep(20);
      }
    }
  }

  async go(g: Go): Promise<Stopped> {
    const sent: Record<string, string[]> = {};
    const sendRtt: number[] = [];
    await Promise.all(this.senders.map(async (s) => {
      const ids: string[] = (sent[s.key] = []);
      for (let n = 0; now() < g.until && n < g.maxPerSender; n++) {
        const t = now();
        ids.push(await this.send(s, `${s.key}-${n}`, t));
        sendRtt.push(now() - t);
      }
    }));
    return { sent, sendRtt, sendErrors: this.sendErrors, warmupErrors: this.warmupErrors, errorSamples: this.errorSamples, loadCpuMs: cpu() - this.cpu0 };
  }

  /** Waits until every receiver has been pushed every id expected of it, or the timeout. */
  async drain(d: Drain): Promise<Drained> {
    const deadline = now() + d.timeoutMs;
    this.expected = {};
    for (const r of this.receivers) this.expected[r.account.id] = (d.targets[r.account.id] ?? []).flatMap((k) => d.sent[k] ?? []);
    const missing = () => this.receivers.some((r) => this.expected[r.account.id].some((id) => !r.pushed.has(id)));
    while (missing() && now() < deadline) await sleep(20);
    while (this.receivers.some((r) => r.flushing) && now() < deadline) await sleep(5);
    return { complete: !missing(), lastPushAt: this.lastPushAt };
  }

  /** After traffic: a final D14 sync per receiver; what arrives there is late, what never arrived is lost. */
  async final(): Promise<FinalResult> {
    const res: FinalResult = { latencies: this.latencies, expected: 0, pushed: 0, late: 0, lost: 0, healedByHistory: 0, duplicates: 0, ackBatches: this.ackBatches, ackErrors: this.ackErrors, finalSyncPages: 0, loadCpuMs: cpu() - this.cpu0 };
    for (const r of this.receivers) {
      const s = await syncAll<{ id: string }>(r.op);
      res.finalSyncPages += s.pages;
      const synced = new Set(s.messages.map((m) => m.id));
      s.messages.forEach((m) => seen(r, m as unknown as Msg));
      const lost: string[] = [];
      for (const id of this.expected[r.account.id] ?? []) {
        res.expected++;
        if (r.pushed.has(id)) res.pushed++;
        else if (synced.has(id)) res.late++;
        else lost.push(id);
      }
      res.lost += lost.length;
      if (lost.length) {
        const healed = await fillGaps(r);
        res.healedByHistory += lost.filter((id) => healed.has(id)).length;
      }
      res.duplicates += r.duplicates;
    }
    return res;
  }

  async close(): Promise<void> {
    await Promise.all([...this.receivers, ...this.senders].map((d) => d.client.dispose()));
  }
}
