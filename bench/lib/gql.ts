import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { now, sleep } from './util';

/** What a client asks for each message (pushed or synced): what a chat UI needs to show it. */
export const MSG = 'id seq clientMsgId content createdAt groupId sender { id }';

export interface Account { id: string; account: string; token: string; deviceId: string }
export type Transport = 'ws' | 'http';
export type Op = <T = any>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export async function http<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const r = (await res.json()) as { data?: T; errors?: unknown[] };
  if (r.errors?.length || !r.data) throw new Error(`operation failed: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** A query or mutation over an open graphql-ws socket (one `subscribe` frame, one `next`, one `complete`). */
export function request<T = any>(client: Client, query: string, variables?: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let result: { data?: unknown; errors?: unknown[] } | undefined;
    client.subscribe({ query, variables }, {
      next: (v) => (result = v as typeof result),
      error: (e) => reject(e instanceof Error ? e : new Error(JSON.stringify(e))),
      complete: () => (result?.data && !result.errors?.length ? resolve(result.data as T) : reject(new Error(`operation failed: ${JSON.stringify(result?.errors)}`))),
    });
  });
}

/** A socket with its token in connection_init; `acked` resolves with ms from open start to connection_ack. */
export function connect(wsUrl: string, token: string): { client: Client; acked: Promise<number>; closed: Promise<number> } {
  const t0 = now();
  let ack!: (ms: number) => void;
  let fail!: (e: Error) => void;
  let closedR!: (code: number) => void;
  const acked = new Promise<number>((r, j) => ((ack = r), (fail = j)));
  const closed = new Promise<number>((r) => (closedR = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    on: {
      connected: () => ack(now() - t0),
      closed: (e: any) => {
        fail(new Error(`socket closed ${e?.code} ${e?.reason ?? ''}`));
        closedR(e?.code ?? 0);
      },
      error: (e) => fail(e instanceof Error ? e : new Error('socket error')),
    },
    onNonLazyError: () => undefined,
  });
  return { client, acked, closed };
}

/** The operation function of one device over the chosen transport. */
export function opFor(transport: Transport, url: string, client: Client, token: string): Op {
  return transport === 'ws' ? (q, v) => request(client, q, v) : (q, v) => http(url, q, v, token);
}

const SESSION = 'accessToken deviceId user { id }';

export async function register(url: string, account: string, deviceId?: string): Promise<Account> {
  const d = await http(url, `mutation($a: String!, $d: String) { register(account: $a, password: "bench-password-1", deviceId: $d) { ${SESSION} } }`, { a: account, d: deviceId });
  return { id: d.register.user.id, account, token: d.register.accessToken, deviceId: d.register.deviceId };
}

export async function login(url: string, account: string, deviceId?: string): Promise<Account> {
  const d = await http(url, `mutation($a: String!, $d: String) { login(account: $a, password: "bench-password-1", deviceId: $d) { ${SESSION} } }`, { a: account, d: deviceId });
  return { id: d.login.user.id, account, token: d.login.accessToken, deviceId: d.login.deviceId };
}

/** Runs fn over items, `width` at a time. */
export async function inBatches<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

export async function registerMany(url: string, n: number, tag: string): Promise<Account[]> {
  const run = `${tag}${Date.now().toString(36)}`;
  return inBatches(Array.from({ length: n }, (_, i) => `${run}_${i}`), 8, (a) => register(url, a));
}

export async function befriend(url: string, a: Account, b: Account): Promise<void> {
  const r = await http(url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: b.id }, a.token);
  await http(url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: r.sendFriendRequest.id }, b.token);
}

export async function createGroup(url: string, owner: Account, members: Account[]): Promise<string> {
  const r = await http(url, 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, memberIds: $m) { id } }', { n: 'bench', m: members.map((m) => m.id) }, owner.token);
  return r.createGroup.id;
}

/**
 * Access tokens for extra devices of a user, signed like the server signs them
 * (possible only when the runner started the server and knows its JWT_SECRET).
 * The server accepts one only while session `sid` has a live row: the caller
 * seeds those rows (seed.ts seedSessions).
 */
export function mintToken(secret: string, userId: string, deviceId: string, sid: string, ttlS = 3600): string {
  const iat = Math.floor(Date.now() / 1000);
  return jwt.sign({ sid, did: deviceId, iat, exp: iat + ttlS }, secret, { algorithm: 'HS256', subject: userId, jwtid: randomUUID(), issuer: 'im-server' });
}

export const SUBSCRIPTIONS = {
  messages: `subscription { messages { ${MSG} } }`,
  notifications: 'subscription { notifications { id type status } }',
  readReceipts: 'subscription { readReceipts { lastRead groupId peerId } }',
};

export interface SyncResult<M> { messages: M[]; pages: number; refused: number; syncMs: number; ackMs: number }

/**
 * D14 step 3: sync and acknowledgeSync page by page until the last page is
 * accepted; on `accepted: false` read again.
 */
export async function syncAll<M extends { id: string }>(op: Op, limit = 500, maxRounds = 10_000): Promise<SyncResult<M>> {
  const messages: M[] = [];
  let pages = 0;
  let refused = 0;
  let syncMs = 0;
  let ackMs = 0;
  for (let round = 0; round < maxRounds; round++) {
    const t0 = now();
    const { sync } = await op<{ sync: { messages: M[]; hasMore: boolean; syncToken: string } }>(
      `query($l: Int) { sync(limit: $l) { messages { ${MSG} } hasMore syncToken } }`, { l: limit },
    );
    const t1 = now();
    syncMs += t1 - t0;
    pages++;
    messages.push(...sync.messages);
    const upTo = sync.messages.length ? sync.messages[sync.messages.length - 1].id : '1';
    const { acknowledgeSync: a } = await op('mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted } }', { u: upTo, t: sync.syncToken });
    ackMs += now() - t1;
    if (!a.accepted) {
      refused++;
      if (refused > 3) await sleep(5);
      continue;
    }
    if (!sync.hasMore) return { messages, pages, refused, syncMs, ackMs };
  }
  throw new Error('sync did not finish');
}
