import 'reflect-metadata';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { type ChatMessage, ImClient, type Peer as To } from '../../client/im-client';
import { createGroup, MESSAGE_FIELDS, makeFriends, waitOnline } from '../support/chat';
import { cleanupEnv, gql, ok, registerUser, testEnv, type TestUser } from '../support/harness';
import { type ServerProcess, sleep, startNode } from '../support/processes';
import { createRedis } from '../../src/redis';

// The common part of the fault tests: clients (the typed D14 client), a ledger of
// every message the server acknowledged to its sender (sendMessage returned it,
// D4), continuous senders, the final D14 catch-up, and the 0-lost / no-duplicate
// verdict. Test files pick the fault.

export { sleep };

/** An HTTP request the typed client made, seen by the fetch tap. */
export interface Seen {
  op: string;
  /** SendMessage: the clientMsgId of the attempt. */
  clientMsgId?: string;
  at: number;
  codes: string[];
  messages: string[];
}

/**
 * One wrapper around globalThis.fetch for the whole test file: records each typed
 * client operation (name, error codes), can drop chosen message ids from a
 * client's `acknowledge` (the ack is lost, as when the socket dies before it is
 * sent) and can delay acknowledges (jobs stay in flight longer).
 */
export class FetchTap {
  readonly seen: Seen[] = [];
  /** token -> message ids whose acknowledge must never reach the server. */
  readonly suppress = new Map<string, Set<string>>();
  /** token -> suppress every acknowledge of that client. */
  readonly muted = new Set<string>();
  ackDelayMs = 0;
  /** token -> what the server handed that client over HTTP (sync pages and history), per message id. */
  readonly handed = new Map<string, Map<string, string[]>>();
  private readonly real = globalThis.fetch;

  install(): this {
    const real = this.real;
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const op = /"query":"(?:query|mutation) (\w+)/.exec(body)?.[1];
      if (!op) return real(input, init);
      const token = String((init?.headers as Record<string, string> | undefined)?.authorization ?? '').replace(/^Bearer /, '');
      if (op === 'Acknowledge') {
        const parsed = JSON.parse(body) as { query: string; variables: { messageIds: string[] } };
        const drop = this.suppress.get(token);
        const muted = this.muted.has(token);
        const keep = parsed.variables.messageIds.filter((id) => !muted && !drop?.has(id));
        if (!keep.length) {
          return new Response(JSON.stringify({ data: { acknowledge: { accepted: true, lastAck: null, lastAckErr: null } } }), {
            headers: { 'content-type': 'application/json' },
          });
        }
        if (this.ackDelayMs) await sleep(this.ackDelayMs);
        init = { ...init, body: JSON.stringify({ ...parsed, variables: { messageIds: keep } }) };
      }
      const at = Date.now();
      try {
        const res = await real(input, init);
        if (op === 'SendMessage') {
          const j = (await res.clone().json().catch(() => ({}))) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
          this.seen.push({ op, at, clientMsgId: sendId(body), codes: (j.errors ?? []).map((e) => e.extensions?.code ?? '?'), messages: (j.errors ?? []).map((e) => e.message) });
        }
        if (op === 'Sync' || op === 'History') {
          const j = (await res.clone().json().catch(() => ({}))) as { data?: Record<string, { messages: Array<{ id: string; seq: number }> }> };
          const vars = (JSON.parse(body) as { variables?: Record<string, unknown> }).variables ?? {};
          const page = j.data?.sync ?? j.data?.history;
          let mine = this.handed.get(token);
          if (!mine) this.handed.set(token, (mine = new Map()));
          for (const m of page?.messages ?? []) {
            const how = `${op.toLowerCase()}${op === 'History' ? `(afterSeq ${vars.afterSeq}, limit ${vars.limit})` : ''} seq ${m.seq} @${at}`;
            mine.set(m.id, [...(mine.get(m.id) ?? []), how]);
          }
        }
        return res;
      } catch (e) {
        if (op === 'SendMessage') this.seen.push({ op, at, clientMsgId: sendId(body), codes: ['NETWORK'], messages: [String((e as Error).message)] });
        throw e;
      }
    }) as typeof fetch;
    return this;
  }

  restore(): void {
    globalThis.fetch = this.real;
  }
}

function sendId(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { variables?: { input?: { clientMsgId?: string } } }).variables?.input?.clientMsgId;
  } catch {
    return undefined;
  }
}

/** What a push frame hook may do with a `messages` push arriving on a client's socket. */
export type FrameAction = 'pass' | 'swallow-and-drop' | 'deliver-and-drop';

export interface PeerOptions {
  httpUrl: string;
  wsUrl: string;
  /** How long a seq jump waits before history is asked (the typed client's default is 200 ms). */
  gapWaitMs?: number;
  /** Called for each pushed message frame on the socket (before the client sees it). */
  onPush?(m: ChatMessage, peer: Peer): FrameAction;
}

/** One user with one device: the typed client and what reached its app. */
export class Peer {
  client!: ImClient;
  /** onMessage calls per id: after the client's dedupe each must be exactly 1. */
  readonly delivered = new Map<string, number>();
  /** Raw `messages` pushes per id as they arrived on the socket (before dedupe). */
  readonly frames = new Map<string, number>();
  /** When the app got each id. */
  readonly deliveredAt = new Map<string, number>();
  /** When each id's first push arrived. */
  readonly firstFrameAt = new Map<string, number>();
  /** Ids the first sync page after a (re)subscribe returned on the socket (D14), with when. */
  readonly socketSynced = new Map<string, number>();
  readonly sockets: WebSocket[] = [];
  readonly errors: unknown[] = [];
  /** Messages only the final catch-up returned: via sync, via history. */
  readonly healedBySync = new Set<string>();
  readonly healedByHistory = new Set<string>();
  /** onMessage broke seq order inside a conversation. */
  readonly orderViolations: string[] = [];
  private readonly lastSeq = new Map<string, number>();
  drops = 0;

  constructor(readonly name: string, readonly user: TestUser, public opts: PeerOptions) {}

  get id(): string {
    return this.user.id;
  }

  received(): Set<string> {
    return new Set([...this.delivered.keys(), ...this.healedBySync, ...this.healedByHistory]);
  }

  async start(): Promise<void> {
    const peer = this;
    type Handler = ((ev: WebSocket.MessageEvent) => void) | null;
    const own = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;
    class TappedWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        peer.sockets.push(this);
        // graphql-ws assigns socket.onmessage: wrap what it assigns to see (and maybe drop) every push.
        const socket = this;
        Object.defineProperty(this, 'onmessage', {
          configurable: true,
          get: () => own.get!.call(socket) as Handler,
          set: (handler: Handler) => {
            own.set!.call(socket, !handler ? null : (ev: WebSocket.MessageEvent) => {
              const action = peer.inspect(String(ev.data));
              if (action === 'swallow-and-drop') {
                peer.drops++;
                socket.terminate();
                return;
              }
              handler(ev);
              if (action === 'deliver-and-drop') {
                peer.drops++;
                socket.terminate();
              }
            });
          },
        });
      }
    }
    this.client = new ImClient({
      httpUrl: this.opts.httpUrl,
      wsUrl: this.opts.wsUrl,
      getToken: () => this.user.token,
      webSocketImpl: TappedWebSocket,
      gapWaitMs: this.opts.gapWaitMs,
      onMessage: (m) => this.onMessage(m),
      onError: (e) => this.errors.push(e),
    });
    await this.client.start();
  }

  private inspect(raw: string): FrameAction {
    let m: ChatMessage | undefined;
    try {
      const f = JSON.parse(raw) as { type?: string; payload?: { data?: { messages?: ChatMessage; sync?: { messages: ChatMessage[] } } } };
      if (f.type === 'next') m = f.payload?.data?.messages;
      for (const s of f.type === 'next' ? (f.payload?.data?.sync?.messages ?? []) : []) this.socketSynced.set(s.id, Date.now());
    } catch {
      return 'pass';
    }
    if (!m) return 'pass';
    this.frames.set(m.id, (this.frames.get(m.id) ?? 0) + 1);
    if (!this.firstFrameAt.has(m.id)) this.firstFrameAt.set(m.id, Date.now());
    return this.opts.onPush?.(m, this) ?? 'pass';
  }

  private onMessage(m: ChatMessage): void {
    this.delivered.set(m.id, (this.delivered.get(m.id) ?? 0) + 1);
    if (!this.deliveredAt.has(m.id)) this.deliveredAt.set(m.id, Date.now());
    const key = this.client.conversationKey(m);
    const last = this.lastSeq.get(key) ?? 0;
    if (m.seq <= last) this.orderViolations.push(`${key}: seq ${m.seq} after ${last} (id ${m.id})`);
    this.lastSeq.set(key, Math.max(last, m.seq));
  }

  async stop(): Promise<void> {
    await this.client?.stop().catch(() => undefined);
    this.sockets.forEach((s) => s.terminate());
  }
}

/** A message the server acknowledged to its sender, and who must receive it. */
export interface Acked {
  id: string;
  seq: number;
  clientMsgId: string;
  sender: string;
  to: To;
  /** Every member of the conversation (the sender's own client holds it from send()). */
  receivers: string[];
  at: number;
}

export class Ledger {
  readonly acked = new Map<string, Acked>();
  /** Failed attempts by error code (a send is retried with the same clientMsgId until it succeeds). */
  readonly failures = new Map<string, number>();
  readonly failureLog: Array<{ at: number; code: string; message: string; clientMsgId: string }> = [];
  readonly retriedIds = new Set<string>();
  gaveUp: string[] = [];

  record(m: ChatMessage, to: To, receivers: string[], clientMsgId: string): void {
    const prev = this.acked.get(m.id);
    if (prev && prev.clientMsgId !== clientMsgId) throw new Error(`message ${m.id} returned for two clientMsgIds`);
    this.acked.set(m.id, { id: m.id, seq: m.seq, clientMsgId, sender: m.sender.id, to, receivers, at: Date.now() });
  }

  fail(e: unknown, clientMsgId: string): void {
    const code = errorCode(e);
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
    this.failureLog.push({ at: Date.now(), code, message: String((e as Error)?.message ?? e).slice(0, 200), clientMsgId });
    this.retriedIds.add(clientMsgId);
  }

  summary(): string {
    const f = [...this.failures].map(([c, n]) => `${c}=${n}`).join(' ');
    return `${this.acked.size} acknowledged, ${this.retriedIds.size} retried (${f || 'no failed attempts'}), ${this.gaveUp.length} given up`;
  }
}

export function errorCode(e: unknown): string {
  if (e instanceof TypeError) return 'NETWORK';
  const c = (e as { code?: string })?.code;
  return c ?? 'NO_CODE';
}

export interface Conversation {
  to(from: Peer): To;
  members: Peer[];
  label: string;
}

export const direct = (a: Peer, b: Peer): Conversation => ({
  to: (from) => ({ userId: from === a ? b.id : a.id }),
  members: [a, b],
  label: `${a.name}<->${b.name}`,
});

export const group = (groupId: string, members: Peer[]): Conversation => ({
  to: () => ({ groupId }),
  members,
  label: `group ${groupId}`,
});

/** Registers users, makes the given pairs friends and (optionally) one group of everyone. */
export async function socialSetup(url: string, names: string[], pairs: Array<[number, number]>, withGroup: boolean) {
  const users: TestUser[] = [];
  for (const n of names) users.push(await registerUser(url, `${n}_${Math.random().toString(36).slice(2, 8)}`));
  for (const [a, b] of pairs) await makeFriends(url, users[a], users[b]);
  // A group may only be made of friends of the owner: the owner befriends everyone first.
  let groupId: string | undefined;
  if (withGroup) {
    for (let i = 1; i < users.length; i++) {
      if (!pairs.some(([a, b]) => (a === 0 && b === i) || (a === i && b === 0))) await makeFriends(url, users[0], users[i]);
    }
    groupId = await createGroup(url, users[0], users.slice(1), 'faults');
  }
  return { users, groupId };
}

export interface TrafficOptions {
  /** Each sender's conversations, used round robin. */
  plan: Array<{ from: Peer; conversations: Conversation[] }>;
  ledger: Ledger;
  /** Pause between one sender's messages, ms (uniform in [min, max]). */
  pauseMs: [number, number];
  /** Give up on one clientMsgId after this long (counted in ledger.gaveUp). */
  giveUpMs?: number;
  /** Pause between repeats of a failed send. */
  retryPauseMs?: number;
}

/**
 * Continuous traffic: every sender sends until stop() is called, each message
 * with its own clientMsgId, repeated with the same clientMsgId on any error
 * until it is acknowledged (D3, D4). The ledger holds what was acknowledged.
 */
export function startTraffic(o: TrafficOptions) {
  let stopping = false;
  let aborted = false;
  let sent = 0;
  const run = async (from: Peer, conversations: Conversation[]) => {
    for (let i = 0; !stopping; i++) {
      const c = conversations[i % conversations.length];
      const to = c.to(from);
      const clientMsgId = `${from.name}-${i}-${Math.random().toString(36).slice(2, 8)}`;
      const first = Date.now();
      for (;;) {
        try {
          const m = await from.client.send(to, `${from.name} #${i} -> ${c.label}`, clientMsgId);
          if (m.clientMsgId !== clientMsgId) throw new Error(`send returned clientMsgId ${m.clientMsgId} for ${clientMsgId}`);
          o.ledger.record(m, to, c.members.map((p) => p.id), clientMsgId);
          sent++;
          break;
        } catch (e) {
          o.ledger.fail(e, clientMsgId);
          if (aborted) return;
          if (Date.now() - first > (o.giveUpMs ?? 60_000)) {
            o.ledger.gaveUp.push(clientMsgId);
            break;
          }
          await sleep(o.retryPauseMs ?? 150);
        }
      }
      await sleep(o.pauseMs[0] + Math.random() * (o.pauseMs[1] - o.pauseMs[0]));
    }
  };
  const done = Promise.all(o.plan.map((p) => run(p.from, p.conversations)));
  return {
    sent: () => sent,
    /** Stops starting new messages and waits for the ones in flight to be acknowledged. */
    async stop() {
      stopping = true;
      await done;
    },
    /** On the way out of a failed test: no more repeats either. */
    async abort() {
      stopping = true;
      aborted = true;
      await done;
    },
  };
}

/** What each peer must hold: every acknowledged message of its conversations. */
export function expectedFor(ledger: Ledger, peer: Peer): string[] {
  return [...ledger.acked.values()].filter((a) => a.receivers.includes(peer.id)).map((a) => a.id);
}

export function missing(ledger: Ledger, peer: Peer): string[] {
  const got = peer.received();
  return expectedFor(ledger, peer).filter((id) => !got.has(id));
}

/** Waits until every peer's client delivered everything (the typed client alone, no catch-up); returns whether it did. */
export async function waitLive(ledger: Ledger, peers: Peer[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (peers.every((p) => missing(ledger, p).length === 0)) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

const SYNC = `query($l: Int) { sync(limit: $l) { messages { ${MESSAGE_FIELDS} } hasMore syncToken } }`;
const ACK_SYNC = 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted lastAck lastAckErr } }';
const HISTORY = `query($w: ConversationInput!, $a: Int, $l: Int) { history(with: $w, afterSeq: $a, limit: $l) { messages { ${MESSAGE_FIELDS} } hasMore } }`;

/**
 * The final D14 catch-up for one peer whose client is still connected: sync and
 * acknowledgeSync page by page until hasMore is false and the acknowledge is
 * accepted (D12, D13), then for each of its conversations history(with, afterSeq)
 * from the highest seq its client delivered to the end (D14 seq gap fill, which
 * also finds a missing tail). What only this returns is recorded as healed.
 */
export async function catchUp(url: string, peer: Peer, conversations: Conversation[], timeoutMs = 20_000): Promise<void> {
  const have = peer.received();
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; ) {
    if (Date.now() > deadline) throw new Error(`${peer.name}: sync never finished`);
    const r = await gql(url, SYNC, { l: 200 }, peer.user.token);
    if (r.errors?.length || !r.data) {
      await sleep(200);
      continue;
    }
    const b = r.data.sync as { messages: ChatMessage[]; hasMore: boolean; syncToken: string };
    for (const m of b.messages) if (!have.has(m.id)) peer.healedBySync.add(m.id);
    const a = await gql(url, ACK_SYNC, { u: b.messages.at(-1)?.id ?? '1', t: b.syncToken }, peer.user.token);
    if (a.data?.acknowledgeSync.accepted) {
      if (!b.hasMore) break;
      wait = 50;
      continue;
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 1000);
  }
  const snapshot = peer.client.snapshot();
  for (const c of conversations.filter((x) => x.members.includes(peer))) {
    const to = c.to(peer);
    const key = 'groupId' in to ? `g:${to.groupId}` : `u:${to.userId}`;
    let after = snapshot[key] ?? 0;
    for (;;) {
      const d = await ok(url, HISTORY, { w: to, a: after, l: 200 }, peer.user.token);
      const h = d.history as { messages: ChatMessage[]; hasMore: boolean };
      for (const m of h.messages) if (!have.has(m.id) && !peer.healedBySync.has(m.id)) peer.healedByHistory.add(m.id);
      if (!h.hasMore || !h.messages.length) break;
      after = Math.max(...h.messages.map((m) => m.seq));
    }
  }
}

/** The typed client's conversation key of an acknowledged message, as seen by peer p. */
export function keyFor(a: Acked, p: Peer): string {
  return 'groupId' in a.to ? `g:${a.to.groupId}` : `u:${a.sender === p.id ? a.to.userId : a.sender}`;
}

export interface Verdict {
  lost: string[];
  duplicates: string[];
  order: string[];
  healed: string;
}

/** received ⊇ acknowledged for every receiver (0 lost), and each id delivered once by the client (no duplicate). */
export function verdict(ledger: Ledger, peers: Peer[], tap?: FetchTap): Verdict {
  const lost: string[] = [];
  const duplicates: string[] = [];
  const order: string[] = [];
  for (const p of peers) {
    for (const id of missing(ledger, p)) {
      const a = ledger.acked.get(id)!;
      const key = keyFor(a, p);
      const held = [...p.delivered.keys()].map((x) => ledger.acked.get(x)).filter((x) => x && keyFor(x, p) === key);
      const handed = (p.frames.get(id) ?? 0) > 0 || p.socketSynced.has(id) || (tap?.handed.get(p.user.token)?.has(id) ?? false);
      lost.push(
        `${handed ? '[the server handed it over; the typed client dropped it] ' : '[never handed over by the server] '}` +
        `${p.name} lacks ${id} (${key} seq ${a.seq}, from ${a.sender}; client holds up to seq ${p.client.snapshot()[key] ?? 0}; ` +
          `pushed ${p.frames.get(id) ?? 0}x${p.firstFrameAt.has(id) ? ` first @${p.firstFrameAt.get(id)}` : ''}; ` +
          `the app got ${held.filter((x) => Math.abs(x!.seq - a.seq) <= 3).sort((x, y) => x!.seq - y!.seq).map((x) => `seq ${x!.seq} @${p.deliveredAt.get(x!.id)}`).join(', ')}; ` +
          `synced on the socket: ${p.socketSynced.has(id) ? `@${p.socketSynced.get(id)}` : 'no'}; ` +
          `handed over HTTP: ${JSON.stringify(tap?.handed.get(p.user.token)?.get(id) ?? [])})`,
      );
    }
    for (const [id, n] of p.delivered) if (n !== 1) duplicates.push(`${p.name} got ${id} ${n}x`);
    order.push(...p.orderViolations.map((v) => `${p.name} ${v}`));
  }
  const healed = peers
    .map((p) => `${p.name}: sync ${p.healedBySync.size}, history ${p.healedByHistory.size}, drops ${p.drops}, sockets ${p.sockets.length}`)
    .join('; ');
  return { lost, duplicates, order, healed };
}

/**
 * The last step of the fault tests: each peer catches up through `url` (sync
 * and gap fill, as its client would), then nothing acknowledged is lost,
 * nothing reaches an app twice, and each conversation is in seq order.
 */
export async function finalCheck(scene: Scene, url: string, ledger: Ledger, peers: Peer[], conversations: Conversation[], tap?: FetchTap): Promise<void> {
  for (const p of peers) await catchUp(url, p, conversations);
  const v = verdict(ledger, peers, tap);
  scene.note(`final catch-up: ${v.healed}`);
  assert.deepEqual(v.lost, [], 'no acknowledged message is lost');
  assert.deepEqual(v.duplicates, [], 'the app sees each message once');
  assert.deepEqual(v.order, [], 'in seq order per conversation');
}

/** Waits until the user's messages subscription is live (as seen through `url`). */
export async function online(url: string, peers: Peer[]): Promise<void> {
  await Promise.all(peers.map((p) => waitOnline(url, p.user, 10_000)));
}

/** The device's cursor as the server holds it (acknowledge of nothing answers it). */
export async function cursorOf(url: string, user: TestUser): Promise<{ lastAck: string | null; lastAckErr: string | null }> {
  const d = await ok(url, 'mutation { acknowledge(messageIds: []) { lastAck lastAckErr } }', {}, user.token);
  return d.acknowledge;
}

/** Logs and resources of one test: everything registered here is released by dispose(), in reverse. */
export class Scene {
  private readonly disposers: Array<() => Promise<unknown> | unknown> = [];
  private readonly logSources: Array<[string, () => string]> = [];
  readonly t0 = Date.now();
  readonly notes: string[] = [];

  defer(fn: () => Promise<unknown> | unknown): void {
    this.disposers.push(fn);
  }

  logs(name: string, get: () => string): void {
    this.logSources.push([name, get]);
  }

  note(s: string): void {
    this.notes.push(`[${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${s}`);
  }

  dump(): string {
    return [
      ...this.notes,
      ...this.logSources.map(([n, get]) => `--- ${n} (last lines) ---\n${get().split('\n').slice(-60).join('\n')}`),
    ].join('\n');
  }

  async dispose(): Promise<void> {
    for (const d of this.disposers.reverse()) {
      try {
        await d();
      } catch {
        // best effort
      }
    }
    this.disposers.length = 0;
  }
}

/** Runs a test body with a Scene; on failure prints its notes and the processes' last lines. */
export async function withScene(t: { diagnostic(msg: string): void }, body: (scene: Scene) => Promise<void>): Promise<void> {
  const scene = new Scene();
  try {
    await body(scene);
    for (const n of scene.notes) t.diagnostic(n);
  } catch (e) {
    console.error(scene.dump());
    throw e;
  } finally {
    await scene.dispose();
  }
}

/** Quick recovery: a push waits 1 s for its ack, stalled jobs are looked for every second, presence lapses after 3 s (D6, D11, D20). */
export const FAST_TIMINGS = { ACK_TIMEOUT_MS: '1000', STALL_INTERVAL_MS: '1000', PRESENCE_TTL_S: '3' };

/**
 * `count` server processes sharing one database, Redis and prefix and JWT secret
 * (testEnv() makes them unique to this test); started one after another so only
 * the first runs the migrations. The scene kills them and removes the database
 * and the prefix's keys at the end.
 */
export async function cluster(scene: Scene, count: number, extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; nodes: ServerProcess[] }> {
  const env = testEnv({ ...FAST_TIMINGS, LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn', ...extra });
  scene.defer(() => cleanupEnv(env));
  const nodes: ServerProcess[] = [];
  for (let i = 0; i < count; i++) nodes.push(await addNode(scene, env, `node${String.fromCharCode(65 + i)}`));
  return { env, nodes };
}

/** One more node on the shared env (or a restart on a given port). */
export async function addNode(scene: Scene, env: Record<string, string>, name: string, port?: number): Promise<ServerProcess> {
  const t0 = Date.now();
  const n = await startNode(env, { name, port });
  scene.note(`${name} ready on ${n.port} in ${Date.now() - t0} ms`);
  scene.defer(() => n.kill('SIGKILL'));
  scene.logs(`${name} pid ${n.child.pid}`, () => n.logs());
  return n;
}

/** Waits until the ledger holds at least n acknowledged messages and at least minMs passed (traffic paced by progress, not by the clock, so a loaded machine still overlaps the fault). */
export async function untilAcked(ledger: Ledger, n: number, minMs = 0, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (ledger.acked.size < n || Date.now() - t0 < minMs) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`traffic stalled: ${ledger.acked.size} of ${n} acknowledged after ${timeoutMs} ms (${ledger.summary()})`);
    await sleep(50);
  }
}

/** Lengths of a bee-queue queue's lists under the test's prefix (the server's queues are `${prefix}bq:<name>:*`). */
export async function queueState(redisUrl: string, prefix: string, name: 'delivery' | 'fanout') {
  const r = createRedis(redisUrl, 'im-faults-probe');
  await r.connect();
  try {
    const k = (t: string) => `${prefix}bq:${name}:${t}`;
    const [waiting, active, jobs, stalling] = await Promise.all([r.llen(k('waiting')), r.llen(k('active')), r.hlen(k('jobs')), r.scard(k('stalling'))]);
    return { waiting, active, jobs, stalling };
  } finally {
    r.disconnect();
  }
}

/** Starts the peers (stopped with the scene) and waits until each one's messages subscription is live. */
export async function startPeers(scene: Scene, url: string, peers: Peer[]): Promise<void> {
  for (const p of peers) scene.defer(() => p.stop());
  await Promise.all(peers.map((p) => p.start()));
  await online(url, peers);
}

/**
 * The five-peer layout of several faults: 0-1, 2-3 and 1-4 direct and the
 * group of all five; every peer sends into its conversations (3 only into 2-3).
 */
export function fivePeerTraffic(scene: Scene, peers: Peer[], groupId: string) {
  const all = group(groupId, peers);
  const d01 = direct(peers[0], peers[1]);
  const d23 = direct(peers[2], peers[3]);
  const d14 = direct(peers[1], peers[4]);
  const conversations: Conversation[] = [d01, d23, d14, all];
  const ledger = new Ledger();
  const traffic = startTraffic({
    ledger,
    pauseMs: [20, 60],
    plan: [
      { from: peers[0], conversations: [d01, all] },
      { from: peers[1], conversations: [d01, d14, all] },
      { from: peers[2], conversations: [d23, all] },
      { from: peers[3], conversations: [d23] },
      { from: peers[4], conversations: [d14, all] },
    ],
  });
  scene.defer(() => traffic.abort());
  return { conversations, ledger, traffic };
}
