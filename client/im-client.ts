// A small typed im-server client for an Electron or web app. It follows the
// client protocol, rule D14 in the Rules of src/delivery/README.md.
// It imports nothing from src/: only the generated documents and graphql-ws.
//
// Transport: the socket carries the subscriptions and one more operation, the
// first sync page after each (re)subscribe; every other query and mutation goes
// over HTTP (fetch). That page must read after the server has attached the
// `messages` subscription (D14): a page read and acknowledged before the attach
// would leave the device absent after start() resolved, and a message sent in
// that moment would be pushed to nobody and never synced. graphql-ws says
// nothing when a subscription is live, but the server starts a socket's
// operations in the order they arrive and makes a sync read wait for an
// attach already begun on its node: only a sync sent on the same socket right
// behind the subscribe is ordered after the attach. Sends and acknowledges
// keep working while the socket is reconnecting, each request picks up a fresh
// token from getToken(), and the server matches acknowledges by device (the
// session), not by socket.
//
// Devices: the server keeps one sync cursor per (user, deviceId). login()
// passes the deviceId this client already has, so a re-login resumes the same
// device's sync; persist `deviceId` and pass it back as an option. A login
// without it would be a new device, whose sync starts at that login. catchUp()
// syncs over HTTP only, without a socket (an app woken by a push notification).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import {
  AcknowledgeDocument, AcknowledgeSyncDocument, HistoryDocument, LoginDocument, type LoginMutation, MeDocument, RefreshSessionDocument, MessagesDocument,
  type MessageFieldsFragment, NotificationsDocument, type NotificationsSubscription, PendingNotificationsDocument, ReadReceiptsDocument,
  type ReadReceiptsSubscription, RegisterDocument, RespondToFriendRequestDocument, SendFriendRequestDocument, SendMessageDocument, SyncDocument,
} from './generated';

export type ChatMessage = MessageFieldsFragment;
export type Notification = NotificationsSubscription['notifications'];
export type ReadReceipt = ReadReceiptsSubscription['readReceipts'];
export type Peer = { userId: string } | { groupId: string };
export type Session = LoginMutation['login'];

export interface ImClientOptions {
  httpUrl: string;
  wsUrl: string;
  /**
   * Called for every request and every socket (re)connect, so a refreshed token is used.
   * Without it, the access token of this client's last login() is used.
   */
  getToken?(): string | Promise<string>;
  /** The device this client is, from an earlier login (persist `deviceId`); login() passes it on. */
  deviceId?: string;
  /** Each message exactly once, in seq order per conversation (your own sends included). */
  onMessage(message: ChatMessage): void;
  onNotification?(notification: Notification): void;
  /** Best effort (D16): a missed one is not replayed; read conversations.peerLastRead after a reconnect. */
  onReadReceipt?(receipt: ReadReceipt): void;
  onError?(error: unknown): void;
  /** Called with each session login() or a refresh gives: persist its refreshToken to log in again after a restart. */
  onSession?(session: Session): void;
  /** A WebSocket class where there is no global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
  /** Highest seq the app already holds per conversation key (from snapshot()); unknown ones start at 0. */
  lastSeq?: Record<string, number>;
  syncPageSize?: number;
  /** How long a seq jump may wait for the missing push before history is asked. */
  gapWaitMs?: number;
  seenLimit?: number;
}

export class ImError extends Error {
  constructor(message: string, readonly code?: string) { super(message); } // code: the server's extensions.code
}

interface Conversation { last: number; pending: Map<number, ChatMessage>; timer?: ReturnType<typeof setTimeout>; filling: boolean }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const printed = new WeakMap<object, string>(); // print each generated document once
function text(doc: TypedDocumentNode<any, any>): string {
  if (!printed.has(doc)) printed.set(doc, print(doc));
  return printed.get(doc)!;
}
// A network failure (fetch throws TypeError) or the server's "stored but not queued" answer: safe to repeat.
const transient = (e: unknown) => e instanceof TypeError || (e instanceof ImError && e.code === 'UNAVAILABLE');

export class ImClient {
  private me = '';
  private ws?: Client;
  private unsubscribe: Array<() => void> = [];
  private readonly seen = new Set<string>();
  private readonly convs = new Map<string, Conversation>();
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private againOverSocket = false; // the pass asked for follows a re-subscribe
  private held: ChatMessage[] | null = null; // pushes that arrive while a sync runs
  private acks: string[] = [];
  private ackTimer?: ReturnType<typeof setTimeout>;
  private connects = 0;
  private stopped = false;
  private device?: string;
  private session?: Session;
  private refreshing?: Promise<Session>;
  /** Refresh this long before the access token expires: a minute, or half its lifetime if shorter (ms). */
  private refreshMargin = 60_000;

  constructor(private readonly o: ImClientOptions) {
    for (const [key, last] of Object.entries(o.lastSeq ?? {})) this.convs.set(key, { last, pending: new Map(), filling: false });
    this.device = o.deviceId;
  }

  /** The device this client is: set by the first login(), kept by every later one. Persist it. */
  get deviceId(): string | undefined {
    return this.device;
  }

  /**
   * Logs in as this client's device: the deviceId it has is passed, so the
   * server resumes that device's sync; the first login (none yet) makes a new
   * device, whose id is kept from then on.
   */
  async login(account: string, password: string): Promise<Session> {
    const { login } = await this.request(LoginDocument, { account, password, deviceId: this.device ?? null }, '');
    this.keep(login);
    this.device = login.deviceId;
    this.me = login.user.id;
    this.o.onSession?.(login);
    return login;
  }

  /**
   * Makes the account and logs in as it, as login() does (this client's
   * deviceId, if it has one, becomes a device of the new account).
   * Errors: CONFLICT when the account is taken, BAD_USER_INPUT for a bad one.
   */
  async register(account: string, password: string, name?: string): Promise<Session> {
    const { register } = await this.request(RegisterDocument, { account, password, name: name ?? null, deviceId: this.device ?? null }, '');
    this.keep(register);
    this.device = register.deviceId;
    this.me = register.user.id;
    this.o.onSession?.(register);
    return register;
  }

  /** Asks `userId` to be friends; answers the request's notification id. */
  async requestFriend(userId: string, remark?: string): Promise<string> {
    return (await this.request(SendFriendRequestDocument, { userId, remark: remark ?? null })).sendFriendRequest.id;
  }

  /** Friend requests sent to this user and not answered yet: [notification id, requester's user id]. */
  async pendingFriendRequests(): Promise<Array<{ notificationId: string; from: string }>> {
    const out: Array<{ notificationId: string; from: string }> = [];
    for (const status of ['INITIAL', 'RECEIVED'] as const) {
      const { notifications } = await this.request(PendingNotificationsDocument, { status });
      for (const n of notifications) if (n.type === 'FRIEND_REQUEST') out.push({ notificationId: n.id, from: n.sender.id });
    }
    return out;
  }

  /** Accepts (or, with accept false, rejects) a friend request by its notification id. */
  async answerFriendRequest(notificationId: string, accept = true): Promise<void> {
    await this.request(RespondToFriendRequestDocument, { notificationId, accept });
  }

  /**
   * Rotates this client's session (after login()). Callers at the same time
   * share one request: a second refresh with the same token would only get
   * the same pair within the server's reuse interval, and revoke the session
   * after it. Requests refresh by themselves when the access token is within
   * a minute of its expiry, or was refused as expired.
   */
  refresh(): Promise<Session> {
    this.refreshing ??= (async () => {
      if (!this.session) throw new ImError('not logged in: call login() first');
      const { refreshSession } = await this.request(RefreshSessionDocument, { refreshToken: this.session.refreshToken }, '');
      this.keep(refreshSession);
      this.o.onSession?.(refreshSession);
      return refreshSession;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * D12/D13 over HTTP only, no socket: pages through this device's backlog
   * until a batch without more is acknowledged. For an app woken by a push
   * notification, or a script; each message reaches onMessage once.
   */
  async catchUp(): Promise<void> {
    if (!this.me) this.me = (await this.request(MeDocument, {})).me.id;
    await this.resync(false);
  }

  /**
   * D14: connect with the token, subscribe, then sync until the backlog is
   * confirmed; the first sync page goes on the socket right behind the
   * subscribes, so it reads after the attach. Resolves once the socket is up
   * and the backlog confirmed: from then on every message is pushed.
   */
  async start(): Promise<void> {
    this.me = (await this.request(MeDocument, {})).me.id;
    this.ws = createClient({
      url: this.o.wsUrl,
      webSocketImpl: this.o.webSocketImpl,
      lazy: false,
      // A function, so every reconnect sends the token getToken() has now (the server closes 4403 at expiry).
      connectionParams: async () => ({ authorization: `Bearer ${await this.token()}` }),
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => !this.stopped,
      retryWait: (n) => sleep(Math.min(200 * 2 ** n, 5000) * (0.5 + Math.random() / 2)),
      on: {
        // D14 after a reconnect: pushes sent while the socket was gone were offline outcomes; only sync returns them.
        // graphql-ws re-sends the subscriptions once this event has run; the sync is asked a turn later, so its
        // first page goes behind them on the new socket.
        connected: () => {
          if (++this.connects > 1) setTimeout(() => void this.resync(true).catch(this.report), 0);
        },
      },
    });
    this.unsubscribe.push(this.subscribe(MessagesDocument, (d) => this.onPush(d.messages)));
    const { onNotification, onReadReceipt } = this.o;
    if (onNotification) this.unsubscribe.push(this.subscribe(NotificationsDocument, (d) => onNotification(d.notifications)));
    if (onReadReceipt) this.unsubscribe.push(this.subscribe(ReadReceiptsDocument, (d) => onReadReceipt(d.readReceipts)));
    // graphql-ws sends operations in call order once connected: the first sync page follows the subscribes.
    await this.resync(true);
  }

  /** Sends once: a retry after UNAVAILABLE or a network error reuses the clientMsgId, so the server stores one message (D3). */
  async send(to: Peer, content: string, clientMsgId: string = globalThis.crypto.randomUUID()): Promise<ChatMessage> {
    const input = { to, content, clientMsgId, type: 'TEXT' as const };
    const { sendMessage } = await this.retry(() => this.request(SendMessageDocument, { input }));
    // Own messages take seqs in the conversation too; without them every reply would look like a gap.
    this.ingest(sendMessage);
    return sendMessage;
  }

  /** Highest seq delivered per conversation: persist it and pass it back as `lastSeq`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.convs].map(([k, c]) => [k, c.last]));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.convs.values()) clearTimeout(c.timer);
    this.unsubscribe.splice(0).forEach((u) => u());
    await this.flushAcks();
    await this.ws?.dispose();
  }

  /** 'u:<peer>' for one-to-one (the other user, whoever sent it), 'g:<group>' for a group. */
  conversationKey(m: ChatMessage): string {
    if (m.groupId) return `g:${m.groupId}`;
    return `u:${m.sender.id === this.me ? m.receiverId : m.sender.id}`;
  }

  private subscribe<T>(doc: TypedDocumentNode<T, any>, next: (data: T) => void): () => void {
    return this.ws!.subscribe<T>({ query: text(doc) }, {
      next: (r) => (r.errors?.length ? this.report(new ImError(r.errors[0].message)) : r.data && next(r.data)),
      error: (e) => this.report(e),
      complete: () => undefined,
    });
  }

  /**
   * One query or mutation on the socket: its data, or an ImError with the
   * server's code (as over HTTP). Sent in call order behind the operations
   * asked before it; if the socket drops first, graphql-ws sends it again on
   * the next socket, again behind the re-subscribes. Rejects when the client
   * is disposed before an answer came.
   */
  private overSocket<R, V>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.ws!.subscribe<R>({ query: text(doc), variables: variables as Record<string, unknown> }, {
        next: (r) => {
          const err = r.errors?.[0];
          if (err) reject(new ImError(err.message, err.extensions?.code as string | undefined));
          else if (r.data) resolve(r.data);
          else reject(new ImError('no data in the answer'));
        },
        // GraphQL errors of a refused operation, or the close or error that ended the socket for good.
        error: (e) => reject(Array.isArray(e) ? new ImError(e[0]?.message ?? 'refused', e[0]?.extensions?.code) : e),
        complete: () => reject(new ImError('the socket closed before the answer')), // no-op once answered
      });
    });
  }

  private onPush(m: ChatMessage): void {
    // Acknowledged on arrival even during a sync: the attach fence keeps this from moving lastAck
    // past the unconfirmed backlog (D7), and an unacknowledged push would become a failure whose
    // version bump makes the running sync's acknowledgeSync come back `accepted: false` (D13).
    this.acks.push(m.id);
    this.ackTimer ??= setTimeout(() => void this.flushAcks(), 5);
    if (this.held) this.held.push(m);
    else this.ingest(m);
  }

  private async flushAcks(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const ids = this.acks.splice(0, 500);
    if (!ids.length) return;
    if (this.acks.length) this.ackTimer = setTimeout(() => void this.flushAcks(), 0);
    // A lost acknowledge is not retried: the push is recorded as failed and the next sync returns it (deduped).
    await this.request(AcknowledgeDocument, { messageIds: ids }).catch(this.report);
  }

  /**
   * One sync run at a time; a reconnect during a run asks for one more pass.
   * overSocket: the run follows a (re)subscribe, so its first page goes on the
   * socket (D14); catchUp() has no socket and syncs over HTTP only.
   */
  private resync(overSocket: boolean): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      this.againOverSocket ||= overSocket;
      return this.syncing;
    }
    this.held ??= [];
    this.syncing = (async () => {
      try {
        let socket = overSocket;
        do {
          this.syncAgain = false;
          this.againOverSocket = false;
          await this.syncPages(socket);
          socket = this.againOverSocket;
        } while (this.syncAgain && !this.stopped);
      } finally {
        const held = this.held ?? [];
        this.held = null;
        this.syncing = null;
        held.forEach((m) => this.ingest(m)); // dedupe drops what the sync already returned
      }
    })();
    return this.syncing;
  }

  /**
   * D12/D13: page until a batch without hasMore is accepted; `accepted: false`
   * (a reason: STALE or LATE_COMMIT) means read again. With overSocket the
   * first read goes on the socket, behind the subscribes (D14); the reads after
   * it, and every acknowledge, go over HTTP: by then the attach has happened,
   * and an attach or detach since a read makes its acknowledge STALE.
   */
  private async syncPages(overSocket: boolean): Promise<void> {
    for (let wait = 50, first = overSocket && !!this.ws; !this.stopped; first = false) {
      const vars = { limit: this.o.syncPageSize ?? 200 };
      const { sync } = await this.retry(() => (first ? this.overSocket(SyncDocument, vars) : this.request(SyncDocument, vars)));
      sync.messages.forEach((m) => this.ingest(m));
      // An empty page still needs its ack (it clears the fence); the server clamps upTo to what it read (D13d).
      const upTo = sync.messages.at(-1)?.id ?? '0';
      const { acknowledgeSync } = await this.retry(() => this.request(AcknowledgeSyncDocument, { upTo, syncToken: sync.syncToken }));
      if (acknowledgeSync.accepted && !sync.hasMore) return;
      if (acknowledgeSync.accepted) wait = 50;
      // A failure or fence since the read, or a message stored late inside the batch: read again.
      else await sleep((wait = Math.min(wait * 2, 1000)));
    }
  }

  /** Dedupe by id, then release messages per conversation strictly in seq order. */
  private ingest(m: ChatMessage): void {
    if (this.seen.has(m.id)) return;
    const key = this.conversationKey(m);
    let c = this.convs.get(key);
    if (!c) this.convs.set(key, (c = { last: 0, pending: new Map(), filling: false }));
    if (m.seq <= c.last) return; // delivered before; the seen set is bounded, seq is not
    c.pending.set(m.seq, m);
    this.release(key, c);
  }

  private release(key: string, c: Conversation): void {
    for (let m = c.pending.get(c.last + 1); m; m = c.pending.get(c.last + 1)) {
      c.pending.delete(m.seq);
      c.last = m.seq;
      this.seen.add(m.id);
      if (this.seen.size > (this.o.seenLimit ?? 10_000)) this.seen.delete(this.seen.values().next().value!);
      try {
        this.o.onMessage(m);
      } catch (e) {
        this.report(e);
      }
    }
    // A jump usually means the missing seq's push is still on its way (our own send returns first);
    // a lost job (D11) is rare, so history is asked only if the gap outlives gapWaitMs.
    if (c.pending.size && !c.timer && !c.filling && !this.stopped) {
      c.timer = setTimeout(() => void this.fill(key, c).catch(this.report), this.o.gapWaitMs ?? 200);
    }
  }

  /** D14: `history(with, afterSeq)` fills the gap between the last delivered seq and the pending ones. */
  private async fill(key: string, c: Conversation): Promise<void> {
    c.timer = undefined;
    c.filling = true;
    try {
      const peer: Peer = key.startsWith('g:') ? { groupId: key.slice(2) } : { userId: key.slice(2) };
      let after = c.last;
      const target = Math.max(...c.pending.keys());
      while (c.pending.size && !c.pending.has(c.last + 1) && after < target - 1 && !this.stopped) {
        const vars = { with: peer, afterSeq: after, limit: Math.min(200, target - 1 - after) };
        const { history } = await this.retry(() => this.request(HistoryDocument, vars));
        // Nothing came back: try again later (the timer re-arms); never skip on silence.
        if (!history.messages.length) break;
        // Seqs commit in order, so seqs below the first one history returns, which it did not
        // return, are outside my membership windows (sent before I joined, or while I was out
        // of the group): never mine to see.
        const first = Math.min(...history.messages.map((m) => m.seq));
        if (first > c.last + 1 && first - 1 > c.last) c.last = first - 1;
        history.messages.forEach((m) => this.ingest(m));
        if (!history.hasMore) break;
        after = Math.max(after, ...history.messages.map((m) => m.seq));
      }
    } finally {
      c.filling = false;
      this.release(key, c); // after a failed fill this re-arms the timer: the gap is tried again
    }
  }

  private async retry<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (!transient(e) || i + 1 >= attempts || this.stopped) throw e;
        await sleep(100 * 2 ** i);
      }
    }
  }

  private keep(session: Session): void {
    this.session = session;
    this.refreshMargin = Math.min(60_000, (Date.parse(String(session.accessTokenExpiresAt)) - Date.now()) / 2);
  }

  private async token(): Promise<string> {
    if (this.o.getToken) return this.o.getToken();
    if (!this.session) throw new ImError('not logged in: call login() or pass getToken');
    if (Date.parse(String(this.session.accessTokenExpiresAt)) - Date.now() < this.refreshMargin) await this.refresh();
    return this.session.accessToken;
  }

  /** token: '' sends no authorization (login, refresh). An access token refused as expired is refreshed once. */
  private async request<R, V>(doc: TypedDocumentNode<R, V>, variables: V, token?: string): Promise<R> {
    try {
      return await this.post(doc, variables, token ?? (await this.token()));
    } catch (e) {
      const expired = e instanceof ImError && e.code === 'UNAUTHENTICATED' && /expired/.test(e.message);
      if (!expired || token !== undefined || this.o.getToken || !this.session) throw e;
      await this.refresh();
      return this.post(doc, variables, this.session.accessToken);
    }
  }

  private async post<R, V>(doc: TypedDocumentNode<R, V>, variables: V, bearer: string): Promise<R> {
    const res = await fetch(this.o.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ query: text(doc), variables }),
    });
    const body = (await res.json().catch(() => ({}))) as { data?: R; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    const err = body.errors?.[0];
    if (err) throw new ImError(err.message, err.extensions?.code);
    // A proxy's 502/503 page is not JSON: as retryable as the server's own UNAVAILABLE.
    if (!body.data) throw new ImError(`HTTP ${res.status}`, res.status >= 500 ? 'UNAVAILABLE' : undefined);
    return body.data;
  }

  private readonly report = (e: unknown): void => this.o.onError?.(e);
}
