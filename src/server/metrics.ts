import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryMetrics, DeliveryOutcome, JobQueue } from '../delivery';
import type { SendMetrics } from '../services/message.service';

export type Transport = 'http' | 'ws';

/** What the transports report: one call per GraphQL operation, and subscriptions open. */
export interface OperationMetrics {
  /** One operation ended: `operation` is its root field, `outcome` `ok` or its first error's code. */
  operation(transport: Transport, operation: string, outcome: string): void;
  /** A subscription (its root field) started; the returned function is called once when it ends. */
  subscribed(field: string): () => void;
}

/** A Redis connection as ioredis (`status`) or node_redis under bee-queue (`ready`) shows it. */
export interface RedisLike {
  status?: string;
  ready?: boolean;
}

/** Pool figures at scrape time. */
export interface PoolStats {
  active: number;
  idle: number;
  total: number;
  waiting: number;
}

/** What is read at scrape time; given once the parts exist (see watch()). */
export interface Sources {
  sockets: () => number;
  /** Their depth is read at scrape, their stalled jobs counted. */
  queues: Array<JobQueue<any>>;
  pools: Record<string, () => PoolStats | undefined>;
  /** Redis connections by name (bee-queue's among them); none in embedded mode, and then no im_redis_up series. */
  redis: Record<string, () => RedisLike | null | undefined>;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const ROWS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200];
/** A scrape does not wait longer than this for a queue's counts (Redis may be down). */
const HEALTH_TIMEOUT_MS = 1000;

/**
 * The server's Prometheus series, in a registry of its own (never the global
 * one: a test process runs several servers). Every series name is listed in
 * docs/operations.md. Labelled children are bound once, so reporting a push
 * or an acknowledge costs one increment or one observe.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private sources: Sources = { sockets: () => 0, queues: [], pools: {}, redis: {} };

  readonly delivery: DeliveryMetrics;
  readonly sends: SendMetrics;
  readonly operations: OperationMetrics;
  private readonly stalled: Counter<'queue'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const src = () => this.sources;

    const ops = new Counter({
      name: 'im_operations_total',
      help: 'GraphQL operations by root field, transport (http|ws) and outcome (ok, or the first error code)',
      labelNames: ['operation', 'transport', 'outcome'] as const,
      registers,
    });
    const subs = new Gauge({ name: 'im_subscriptions_open', help: 'Open subscriptions by root field', labelNames: ['subscription'] as const, registers });
    new Gauge({
      name: 'im_sockets_open',
      help: 'Open WebSocket connections on this node',
      registers,
      collect() {
        this.set(src().sockets());
      },
    });
    // operation -> outcome -> child, per transport: no label string is built per operation.
    const bound: Record<Transport, Map<string, Map<string, Counter.Internal>>> = { http: new Map(), ws: new Map() };
    this.operations = {
      operation(transport, operation, outcome) {
        let byOutcome = bound[transport].get(operation);
        if (!byOutcome) bound[transport].set(operation, (byOutcome = new Map()));
        let child = byOutcome.get(outcome);
        if (!child) byOutcome.set(outcome, (child = ops.labels(operation, transport, outcome)));
        child.inc();
      },
      subscribed(field) {
        const g = subs.labels(field);
        g.inc();
        let open = true;
        return () => {
          if (open) g.dec();
          open = false;
        };
      },
    };

    const stored = new Counter({ name: 'im_messages_stored_total', help: 'Messages stored (a repeated clientMsgId is not counted)', registers });
    this.sends = { stored: () => stored.inc() };

    const deliveries = new Counter({
      name: 'im_deliveries_total',
      help: 'Deliveries by outcome: success and failure per device pushed to, offline per (message, user) with no live socket',
      labelNames: ['outcome'] as const,
      registers,
    });
    const byOutcome = Object.fromEntries(
      (['success', 'failure', 'offline'] as const).map((o) => {
        const child = deliveries.labels(o);
        child.inc(0); // the series exist before the first delivery
        return [o, child];
      }),
    ) as Record<DeliveryOutcome, Counter.Internal>;
    const ack = new Histogram({ name: 'im_ack_latency_seconds', help: "Push sent to the device's acknowledge", buckets: LATENCY_BUCKETS, registers });
    const push = new Histogram({
      name: 'im_push_latency_seconds',
      help: "Message stored (its created_at, in the storing transaction) to its push handed to a socket on this node",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const batch = new Histogram({
      name: 'im_cursor_batch_rows',
      help: 'Rows per cursor statement: success (acknowledged pushes) or guard (late-commit guards)',
      labelNames: ['statement'] as const,
      buckets: ROWS_BUCKETS,
      registers,
    });
    const batchOf = { success: batch.labels('success'), guard: batch.labels('guard') };
    this.delivery = {
      delivered: (outcome, n) => byOutcome[outcome].inc(n),
      ackLatency: (s) => ack.observe(s),
      pushLatency: (s) => push.observe(s),
      cursorBatch: (statement, rows) => batchOf[statement].observe(rows),
    };

    new Gauge({
      name: 'im_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed), read at scrape',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        this.reset(); // a queue that cannot be read shows no figures rather than old ones
        await Promise.all(
          src().queues.map(async (q) => {
            const h = await withTimeout(q.checkHealth(), HEALTH_TIMEOUT_MS).catch(() => undefined);
            if (!h) return;
            for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.labels(q.name, state).set(h[state]);
          }),
        );
      },
    });
    this.stalled = new Counter({ name: 'im_queue_stalled_jobs_total', help: 'Stalled jobs found (their worker died or hung) and rerun, per queue', labelNames: ['queue'] as const, registers });

    new Gauge({
      name: 'im_db_pool_connections',
      help: 'Database pool connections by pool (sql: the delivery pool, orm: MikroORM) and state (active, idle, total, waiting)',
      labelNames: ['pool', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const [pool, read] of Object.entries(src().pools)) {
          const s = read();
          if (!s) continue;
          for (const state of ['active', 'idle', 'total', 'waiting'] as const) this.labels(pool, state).set(s[state]);
        }
      },
    });
    new Gauge({
      name: 'im_redis_up',
      help: 'Redis connection state per client: 1 ready, 0 not',
      labelNames: ['client'] as const,
      registers,
      collect() {
        for (const [client, read] of Object.entries(src().redis)) {
          const c = read();
          this.labels(client).set(c && (c.status === 'ready' || c.ready === true) ? 1 : 0);
        }
      },
    });
  }

  /** Gives the parts read at scrape time, and counts each queue's stalled jobs. */
  watch(sources: Sources): void {
    for (const q of sources.queues) {
      const child = this.stalled.labels(q.name);
      child.inc(0);
      q.on('stalled', () => child.inc());
    }
    this.sources = sources;
  }

  /** Express handler for GET /metrics. */
  handler(): RequestHandler {
    return (_req, res) => {
      this.registry.metrics().then(
        (text) => res.type(this.registry.contentType).send(text),
        () => res.status(500).type('text/plain').send('metrics unavailable\n'),
      );
    };
  }

  /** A server of its own that answers GET /metrics only (METRICS_PORT). */
  async listen(port: number, host: string): Promise<{ server: Server; port: number; close(): Promise<void> }> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      server,
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
