import { badInput } from '../errors';
import type { Logger } from '../logger';
import type { AckBus } from './ack-bus';
import { Attaching, Attachment } from './attaching';
import type { CursorStore } from './cursor-store';
import { Coalescer } from './coalescer';
import { withDeadline } from './deadline';
import { decodeDeliveries, decodeFanout, type DeliveryBatch, encodeDeliveries, encodeFanout, type Encoded } from './jobs';
import type { MessageRow, MessageSource } from './message-source';
import { type DeliveryMetrics, noDeliveryMetrics } from './metrics';
import type { NodeBus } from './node-bus';
import type { Connection, Presence, RemoteConnection } from './presence';
import type { JobQueue, Queues, QueueJob } from './queues';
import { type AckRefusal, type Cursor, batchDigest, clampUpTo, decodeSyncToken, syncAck as syncAckRule, deliveryBatchJobId, encodeSyncToken, fanoutJobId, lateCommitted, planFanout } from './rules';

export interface SyncBatch {
  messages: MessageRow[];
  hasMore: boolean;
  syncToken: string;
}

export interface AckResult {
  accepted: boolean;
  /** Why it was refused (only when accepted is false); the client syncs again either way. */
  reason?: AckRefusal;
  cursor: Cursor;
}

export interface EngineOptions {
  ackTimeoutMs: number;
  jobTimeoutMs: number;
  concurrency: number;
  fanoutBatch: number;
  stallIntervalMs: number;
  syncMaxLimit: number;
  /** Key for signing sync tokens. */
  syncSecret: Buffer;
}

export interface EngineDeps {
  store: CursorStore;
  presence: Presence;
  acks: AckBus;
  queues: Queues;
  messages: MessageSource;
  /** The users whose membership windows hold a group message (src/services/group.service.ts audienceOf). */
  groupAudience(groupId: string, messageId: string): Promise<string[]>;
  /** Carries pushes to sockets on this node or another. */
  nodes: NodeBus;
  log: Logger;
  options: EngineOptions;
  /** Outcomes and latencies (no-op when not given). */
  metrics?: DeliveryMetrics;
}

export type Outcome = 'success' | 'failure';

/**
 * The socket a `messages` subscription belongs to: open() names each
 * subscription `<socket's connectionId>.<n>`, and hooks such as
 * NodeBus.onSlowConsumer are given the subscription's connection.
 */
export const socketIdOf = (subscriptionId: string): string => subscriptionId.slice(0, subscriptionId.lastIndexOf('.'));

/** How long the connections a job was planned with are used instead of a fresh presence read. */
const FRESH_HOLDERS_MS = 2000;

/** One delivery to plan: a message for one receiving user (for the sender, their other devices). */
interface Planned {
  messageId: string;
  receiverId: string;
  senderId: string;
  originDeviceId: string;
}

/** A planned delivery with the receiver's connections at planning; none: the job reads presence. */
type Held = Planned & { holders: RemoteConnection[] };

/**
 * The delivery engine: the facade the GraphQL layer talks to. It never
 * imports GraphQL; see src/delivery/README.md for the protocol it keeps.
 */
export class DeliveryEngine {
  private stopped = false;
  /** One-to-one messages committed in the same moment are planned together. */
  private readonly outbox: Coalescer<Held>;
  private readonly attaching = new Attaching(1000);
  private readonly metrics: DeliveryMetrics;
  /** Numbers this node's `messages` subscriptions (each is its own presence entry and push target). */
  private opened = 0;

  constructor(private readonly d: EngineDeps) {
    this.metrics = d.metrics ?? noDeliveryMetrics;
    this.outbox = new Coalescer((planned) => this.saveDeliveries(planned));
  }

  /**
   * The `messages` subscription of one socket. The stream can receive before
   * the device is marked present, and the device is fenced before that (D7).
   * Each subscription is its own connection (a socket may hold two), and its
   * attach and detach run one step at a time (rules/attachment.ts), so it is
   * present exactly while it is live, however subscribe, complete, socket
   * close and the steps interleave.
   */
  open<T>(c: Connection, as: (row: MessageRow) => T): AsyncIterableIterator<T> {
    const sub: Connection = { ...c, connectionId: `${c.connectionId}.${++this.opened}` };
    const life = new Attachment(
      {
        fence: () => this.d.store.fence(c.userId, c.deviceId),
        mark: () => this.d.presence.attach(sub),
        detach: () => this.detach(sub),
      },
      this.attaching.begin(c.userId, c.deviceId),
    );
    return this.d.nodes.open(sub, as, () => life.start(), () => life.close());
  }

  /** Absent from now on, then fenced: pushes it misses from here record nothing. */
  private async detach(c: Connection): Promise<void> {
    await this.d.presence.detach(c);
    await this.d.store.fence(c.userId, c.deviceId);
  }

  /**
   * D4/D5: called after the message is committed. One-to-one messages
   * enqueued together share their jobs (bounded batches of deliveries to the
   * receiver and to the sender's other devices); the job reads presence, so
   * the send's answer waits for one Redis round trip, the job's save. A group
   * message gets fan-out jobs, which read its members' presence and give
   * members with no live socket no job at all.
   */
  async enqueue(message: MessageRow, originDeviceId: string): Promise<void> {
    this.d.messages.remember(message);
    if (!message.group_id) {
      await this.outbox.add([
        { messageId: message.id, receiverId: message.receiver_id!, senderId: message.sender_id, originDeviceId, holders: [] },
        { messageId: message.id, receiverId: message.sender_id, senderId: message.sender_id, originDeviceId, holders: [] },
      ]);
      return;
    }
    const members = await this.d.groupAudience(message.group_id, message.id);
    const batches = planFanout(members, message.sender_id, this.d.options.fanoutBatch);
    const jobs = batches.map((receiverIds, i) =>
      this.d.queues.fanout
        .createJob(
          encodeFanout({ messageId: message.id, groupId: message.group_id!, senderId: message.sender_id, originDeviceId, receiverIds }),
        )
        .setId(fanoutJobId(message.id, i))
        .retries(5)
        .backoff('exponential', 200),
    );
    await this.saveAll(this.d.queues.fanout, jobs);
  }

  /**
   * A fan-out job's members: one presence read for all of them, the D7 guard
   * for those (or, for the sender, devices other than the sending one) with
   * no live socket, and delivery jobs for the rest, carrying the connections
   * they were planned with.
   */
  private async planFanout(planned: Planned[]): Promise<void> {
    const conns = await this.d.presence.connectionsOfMany([...new Set(planned.map((p) => p.receiverId))]);
    const live: Held[] = [];
    const guards: Promise<void>[] = [];
    let offline = 0;
    for (const p of planned) {
      const own = p.receiverId === p.senderId;
      const holders = conns.get(p.receiverId)!;
      if (holders.some((c) => !own || c.deviceId !== p.originDeviceId)) live.push({ ...p, holders });
      else if (own) guards.push(this.d.store.offline(p.messageId, { userId: p.senderId, exceptDevices: [p.originDeviceId] }));
      else {
        offline++;
        guards.push(this.d.store.offline(p.messageId, { userIds: [p.receiverId] }));
      }
    }
    if (offline) this.metrics.delivered('offline', offline);
    await Promise.all([...guards, this.saveDeliveries(live)]);
  }

  /**
   * Delivery jobs of at most fanoutBatch deliveries. A delivery with no
   * holders has its presence read by the job (after the commit, as D7 needs).
   * Job ids derive from their contents, so a repeat is a no-op (D3).
   */
  private async saveDeliveries(planned: Held[]): Promise<void> {
    const size = this.d.options.fanoutBatch;
    const jobs: QueueJob<Encoded>[] = [];
    for (let i = 0; i < planned.length; i += size) {
      const items = planned.slice(i, i + size).map((p) => ({
        messageId: p.messageId,
        receiverId: p.receiverId,
        originDeviceId: p.receiverId === p.senderId ? p.originDeviceId : '',
        holders: p.holders,
      }));
      jobs.push(
        this.d.queues.delivery
          .createJob(encodeDeliveries({ items, plannedAt: Date.now() }))
          .setId(deliveryBatchJobId(items))
          .retries(5)
          .backoff('exponential', 200),
      );
    }
    await this.saveAll(this.d.queues.delivery, jobs);
  }

  /**
   * One delivery job. A fresh job pushes where presence was at planning (a
   * device that attached since is fenced and syncs the message, D7); its
   * deliveries planned without holders, and every delivery of a retry (maybe
   * much later), read presence now, together.
   */
  private async runDeliveries(batch: DeliveryBatch): Promise<void> {
    const fresh = Date.now() - batch.plannedAt < FRESH_HOLDERS_MS;
    const stale = batch.items.filter((j) => !fresh || !j.holders.length).map((j) => j.receiverId);
    const now = stale.length ? await this.d.presence.connectionsOfMany([...new Set(stale)]) : undefined;
    await Promise.all(
      batch.items.map((j) =>
        this.deliver(j.messageId, j.receiverId, j.originDeviceId, fresh && j.holders.length ? j.holders : now!.get(j.receiverId)!),
      ),
    );
  }

  private async saveAll(queue: JobQueue<Encoded>, jobs: QueueJob<Encoded>[]): Promise<void> {
    if (!jobs.length) return;
    const errors = await queue.saveAll(jobs);
    if (errors.size) throw [...errors.values()][0];
  }

  /** Starts the workers of this node (D5: stalled jobs are checked and rerun). */
  start(): void {
    const { queues, options } = this.d;
    // A job that overruns jobTimeoutMs fails, and the queue runs it again after its backoff.
    queues.fanout.process(Math.max(4, Math.floor(options.concurrency / 8)), (job) => {
      const f = decodeFanout(job.data);
      const planned = f.receiverIds.map((receiverId) => ({ messageId: f.messageId, receiverId, senderId: f.senderId, originDeviceId: f.originDeviceId }));
      return withDeadline(this.planFanout(planned), options.jobTimeoutMs, `fan-out job ${job.id}`);
    });
    queues.delivery.process(options.concurrency, (job) => {
      // A failure reruns the whole batch; pushes it repeats are deduplicated by id on the device (D14).
      const batch = decodeDeliveries(job.data);
      return withDeadline(this.runDeliveries(batch), options.jobTimeoutMs, `delivery job ${job.id}`);
    });
    for (const q of [queues.fanout, queues.delivery]) {
      q.on('error', (err) => this.d.log.warn({ err, queue: q.name }, 'queue error'));
      q.on('failed', (job, err) => this.d.log.warn({ err, jobId: job.id, queue: q.name }, 'job failed'));
      void q.checkStalledJobs(options.stallIntervalMs);
    }
  }

  /**
   * D6: push to every live device of the receiver (its connections, `holders`)
   * and wait for each device's acknowledge; one outcome per device, recorded
   * by D8/D9.
   */
  async deliver(messageId: string, receiverId: string, originDeviceId: string, holders: RemoteConnection[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    const message = await this.d.messages.load(messageId);
    if (!message) return outcomes;
    const conns = holders.filter(
      (c) => !(receiverId === message.sender_id && c.deviceId === originDeviceId),
    );
    const byDevice = new Map<string, RemoteConnection[]>();
    for (const c of conns) byDevice.set(c.deviceId, [...(byDevice.get(c.deviceId) ?? []), c]);
    const spared = [...byDevice.keys()];
    if (!spared.length && receiverId !== message.sender_id) this.metrics.delivered('offline', 1);
    if (receiverId === message.sender_id && originDeviceId) spared.push(originDeviceId);
    // The guard concerns only the devices not pushed to, so it runs beside the pushes
    // (not before them, on the push's latency) and ends with the job, as D10 needs.
    const guard = this.d.store.offline(messageId, { userId: receiverId, exceptDevices: spared });
    await Promise.all([
      guard,
      ...[...byDevice].map(async ([deviceId, connections]) => {
        // Wait first, then push: an acknowledge can come back before publish() returns.
        const acked = this.d.acks.wait(receiverId, deviceId, messageId, this.d.options.ackTimeoutMs);
        const pushedAt = performance.now();
        const sent = await Promise.all(connections.map((c) => this.d.nodes.push(c, message).then(() => true, () => false)));
        const ok = sent.some(Boolean) && (await acked);
        if (ok) this.metrics.ackLatency((performance.now() - pushedAt) / 1000);
        this.metrics.delivered(ok ? 'success' : 'failure', 1);
        outcomes.set(deviceId, ok ? 'success' : 'failure');
        if (ok) await this.d.store.successLater(receiverId, deviceId, messageId);
        else await this.d.store.failure(receiverId, deviceId, messageId);
      }),
    ]);
    return outcomes;
  }

  /** A device acknowledges pushed messages; only waits of that very device are resolved. */
  async acknowledge(userId: string, deviceId: string, messageIds: string[]): Promise<void> {
    await this.d.acks.acknowledge(userId, deviceId, messageIds);
  }

  /** D12: the next page of this device's backlog, with the token for acknowledgeSync. */
  async syncRead(userId: string, deviceId: string, limit: number): Promise<SyncBatch> {
    const n = Math.min(Math.max(1, Math.floor(limit)), this.d.options.syncMaxLimit);
    // A subscribe sent just before this sync on the same socket is still attaching: read after it.
    await this.attaching.settled(userId, deviceId);
    // Presence is read beside the rows: its only use is the ack's, which checks it again (and
    // a detach or attach in between moves the version the token carries).
    const live = this.deviceLive(userId, deviceId);
    const start = await this.d.messages.syncStart(userId, deviceId);
    const cursor = start?.cursor ?? (await this.d.store.get(userId, deviceId));
    const rows = await this.d.messages.visibleAfter(userId, cursor.lastAck, n + 1, start?.windows);
    const hasMore = rows.length > n;
    const messages = rows.slice(0, n);
    const present = await live;
    const maxId = messages.length ? BigInt(messages[messages.length - 1].id) : cursor.lastAck;
    const syncToken = encodeSyncToken(
      {
        userId,
        deviceId,
        readLastAck: cursor.lastAck,
        maxId,
        version: cursor.version,
        present,
        hasMore,
        count: messages.length,
        digest: batchDigest(messages.map((m) => BigInt(m.id))),
      },
      this.d.options.syncSecret,
    );
    return { messages, hasMore, syncToken };
  }

  /**
   * D13: the device holds every message in (lastAck, upTo] of the batch the
   * token came with. Refused (accepted: false, nothing changes) with STALE
   * when a failure or fence happened after the read. A device with no live
   * socket, at the read or now, is confirmed in two steps (D13e): the same
   * guarded write, then a read of the ids visible after it; if one inside
   * the batch's range is not the batch's, it committed after the read, so the
   * cursor goes back to where the read started (a failure) and the answer is
   * LATE_COMMIT.
   */
  async syncAck(userId: string, deviceId: string, upTo: bigint, token: string): Promise<AckResult> {
    const t = decodeSyncToken(token, this.d.options.syncSecret, { userId, deviceId });
    if (!t) throw badInput('the syncToken is not valid for this device');
    const u = clampUpTo(t, upTo); // D13d
    const live = t.present && (await this.deviceLive(userId, deviceId));
    // The statement carries the rule (same version, lastAck <= u; at u === lastAck it still
    // applies, which clears the fence of a complete batch), so nothing is read before it.
    if (await this.d.store.syncAck(t, u)) {
      // It matched on the token's version: the row is now what the rule makes of it.
      const r = syncAckRule({ lastAck: u, lastAckErr: null, version: t.version }, t, upTo, live);
      if (!r.verify) return { accepted: true, cursor: r.cursor };
      // Read after the write committed: an id that commits later finds lastAck past it in its guard.
      const visible = await this.d.messages.visibleAfter(userId, t.readLastAck, Math.max(t.count, 0) + 1);
      if (!lateCommitted(t, visible.map((m) => BigInt(m.id)))) return { accepted: true, cursor: r.cursor };
      await this.d.store.failure(userId, deviceId, (t.readLastAck + 1n).toString());
      return { accepted: false, reason: 'LATE_COMMIT', cursor: await this.d.store.get(userId, deviceId) };
    }
    // Not applied: accepted all the same when lastAck is already there (D13: never a loss either way).
    const cursor = await this.d.store.get(userId, deviceId);
    return cursor.lastAck >= u ? { accepted: true, cursor } : { accepted: false, reason: 'STALE', cursor };
  }

  cursor(userId: string, deviceId: string): Promise<Cursor> {
    return this.d.store.get(userId, deviceId);
  }

  private async deviceLive(userId: string, deviceId: string): Promise<boolean> {
    return (await this.d.presence.connectionsOf(userId)).some((c) => c.deviceId === deviceId);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.d.acks.cancelAll();
    await Promise.all([this.d.queues.fanout.close(5000), this.d.queues.delivery.close(5000)]);
  }
}
