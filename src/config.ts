import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';

/**
 * The only reader of process.env. Everything else receives a Config.
 * Validation errors are collected and reported together, one line per key.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** "points/seconds[/blockSeconds]": at most `points` in any `seconds`; over it, refused for `blockSeconds` (default: the rest of the window). */
const rate = (byDefault: string) => z
  .string()
  .regex(/^(off|\d+\/\d+(\/\d+)?)$/, 'must be "points/seconds", "points/seconds/blockSeconds" or "off"')
  .transform((v): RateLimit | null => {
    if (v === 'off') return null;
    const [points, durationS, blockS] = v.split('/').map(Number);
    return { points, durationS, blockS: blockS ?? 0 };
  })
  .refine((v) => v === null || (v.points >= 1 && v.durationS >= 1), 'points and seconds must be at least 1')
  .prefault(byDefault);

/** One rate limit: `points` per `durationS` seconds; `blockS` > 0 refuses that long once exceeded. */
export interface RateLimit {
  points: number;
  durationS: number;
  blockS: number;
}

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/).default('im:'),
  JWT_SECRET: z.string().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ACCESS_TOKEN_TTL: z.coerce.number().int().min(5).max(86_400).default(900),
  REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).default(30 * 86_400),
  REFRESH_REUSE_INTERVAL_S: z.coerce.number().int().min(0).max(300).default(20),
  SESSION_CACHE_TTL_S: z.coerce.number().int().min(1).max(3600).default(60),
  SESSION_RECHECK_S: z.coerce.number().int().min(1).max(3600).default(30),
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_LANDING_PAGE: bool.optional(),
  LIMIT_DEPTH: z.coerce.number().int().min(1).default(10),
  LIMIT_ALIASES: z.coerce.number().int().min(0).default(15),
  LIMIT_COST: z.coerce.number().int().min(1).default(5000),
  LIMIT_TOKENS: z.coerce.number().int().min(1).default(1000),
  LIMIT_DIRECTIVES: z.coerce.number().int().min(0).default(10),
  HTTP_MAX_BODY: z.coerce.number().int().min(1024).default(256 * 1024),
  WS_MAX_PAYLOAD: z.coerce.number().int().min(1024).default(64 * 1024),
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  ACK_TIMEOUT_MS: z.coerce.number().int().min(50).default(10_000),
  JOB_TIMEOUT_MS: z.coerce.number().int().min(100).optional(),
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).default(256),
  FANOUT_BATCH: z.coerce.number().int().min(1).default(100),
  PRESENCE_TTL_S: z.coerce.number().int().min(2).default(30),
  STALL_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  GROUP_MAX_SIZE: z.coerce.number().int().min(2).default(500),
  CACHE_TTL_S: z.coerce.number().int().min(1).default(300),
  SYNC_MAX_LIMIT: z.coerce.number().int().min(1).default(500),
  // Rate limits, "points/seconds" or "points/seconds/blockSeconds", or "off" (see src/limits/rate-limits.ts).
  RL_LOGIN_ACCOUNT: rate('10/900/900'),
  RL_LOGIN_IP: rate('50/3600/3600'),
  RL_REGISTER_IP: rate('10/3600'),
  RL_REFRESH_SESSION: rate('10/60'),
  RL_SEND_BURST: rate('30/5'),
  RL_SEND_SUSTAINED: rate('300/60'),
  RL_FRIEND_REQUEST: rate('30/3600'),
  RL_GROUP_CREATE: rate('20/3600'),
  RL_MARK_READ: rate('120/60'),
  RL_TYPING: rate('60/60'),
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).default(16),
  WS_MAX_SOCKETS_PER_DEVICE: z.coerce.number().int().min(1).default(4),
  WS_MAX_SOCKETS_PER_IP: z.coerce.number().int().min(1).default(1000),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).default(16),
  WS_PUSH_QUEUE: z.coerce.number().int().min(1).default(1024),
  TRUST_PROXY: z.string().default('false'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Operations: metrics and CORS (see docs/operations.md).
  METRICS_ENABLED: bool.optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  CORS_ORIGINS: z.string().optional(),
});

/** MariaDB from DATABASE_URL (cluster mode). */
export interface MariaDbConfig {
  kind: 'mariadb';
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  name: string;
}

/** SQLite (embedded mode): `file` is `<DATA_DIR>/im.sqlite`; `name` is the file's base name, for logs. */
export interface SqliteConfig {
  kind: 'sqlite';
  file: string;
  name: string;
}

/** The file name of the embedded database inside DATA_DIR. */
export const SQLITE_FILE = 'im.sqlite';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /**
   * `embedded`: DATABASE_URL and REDIS_URL both unset; one node on SQLite (a
   * file under `dataDir`) with in-process presence, buses, queues and caches.
   * `cluster`: both set; MariaDB and Redis, any number of nodes.
   */
  mode: 'embedded' | 'cluster';
  database: MariaDbConfig | SqliteConfig;
  /** `url` is undefined in embedded mode; `prefix` names keys and channels in both. */
  redis: { url: string | undefined; prefix: string };
  /**
   * `generated`: no JWT_SECRET was given and `secret` is random for this
   * process; in development main.ts replaces it with the one kept in `dataDir`.
   */
  jwt: { secret: string; generated: boolean; accessTtlS: number; refreshTtlS: number };
  /**
   * Sessions: `refreshReuseS`, seconds after a rotation in which the replaced
   * refresh token returns the same new pair (Auth0's and Okta's rotation allow
   * such an interval); `cacheTtlS`, how long Redis caches a session's
   * liveness; `recheckS`, how often open sockets' sessions are checked again.
   */
  sessions: { refreshReuseS: number; cacheTtlS: number; recheckS: number };
  /** Where the server keeps its local state (the development JWT secret), relative to the working directory unless absolute. */
  dataDir: string;
  graphql: { introspection: boolean; landingPage: boolean };
  limits: { depth: number; aliases: number; cost: number; tokens: number; directives: number };
  /** maxBody: largest HTTP request body, bytes (a larger one gets 413 PAYLOAD_TOO_LARGE). */
  http: { maxBody: number };
  ws: { maxPayload: number; initTimeoutMs: number };
  delivery: {
    ackTimeoutMs: number;
    jobTimeoutMs: number;
    concurrency: number;
    fanoutBatch: number;
    presenceTtlS: number;
    stallIntervalMs: number;
    syncMaxLimit: number;
  };
  groups: { maxSize: number };
  /**
   * Rate limits by name; null is off. Keys: loginAccount and loginIp count
   * failed logins (per account, per client IP), registerIp registrations per
   * IP, refreshSession refreshes per session, sendBurst and sendSustained
   * sends per user (both apply), friendRequest, groupCreate, markRead and
   * typing per user.
   */
  rateLimits: Record<RateLimitName, RateLimit | null>;
  /**
   * Socket caps, counted per node: sockets per user, per device (session) and
   * per client IP; live subscriptions per socket; pushes waiting unread on one
   * `messages` subscription before the socket is closed as a slow consumer.
   */
  sockets: { perUser: number; perDevice: number; perIp: number; subscriptions: number; pushQueue: number };
  /** Express's `trust proxy`: false, true, a hop count, or a comma list of addresses/subnets (see proxy-addr). */
  trustProxy: boolean | number | string[];
  cache: { ttlS: number };
  logLevel: string;
  /**
   * GET /metrics (Prometheus text). `port` set: served only there, on a server of
   * its own (0 picks a free port); unset: on the main port.
   */
  metrics: { enabled: boolean; port?: number };
  /**
   * Which browser origins may call the API (CORS over HTTP, Origin on the
   * WebSocket upgrade). `any`: every origin; `localhost`: http(s) origins on
   * localhost, 127.0.0.1 or [::1], any port; `list`: exactly `origins`
   * (each `scheme://host[:port]`). Same-origin and Origin-less requests are
   * always let through (see src/server/cors.ts).
   */
  cors: { allow: 'any' | 'localhost' | 'list'; origins: string[] };
}

export type RateLimitName =
  | 'loginAccount' | 'loginIp' | 'registerIp' | 'refreshSession' | 'sendBurst' | 'sendSustained'
  | 'friendRequest' | 'groupCreate' | 'markRead' | 'typing';

/** "false" | "true" | a hop count | "loopback, 10.0.0.0/8": what proxy-addr trusts. */
function parseTrustProxy(v: string): boolean | number | string[] {
  const t = v.trim();
  if (t === 'false' || t === '') return false;
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) return Number(t);
  return t.split(',').map((x) => x.trim()).filter(Boolean);
}

/**
 * TRUST_PROXY's problem, if any: each entry of a list is compiled by
 * proxy-addr, as Express does at startup (where a bad one would throw), so a
 * typo is one more listed problem (exit 78) instead of a crash after the
 * migrations (exit 70).
 */
function trustProxyProblems(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  if (/^\s*-\d+\s*$/.test(raw)) return [`TRUST_PROXY: a hop count cannot be negative ("${raw.trim()}")`];
  const trust = parseTrustProxy(raw);
  if (!Array.isArray(trust)) return [];
  for (const entry of trust) {
    try {
      proxyaddr.compile(entry);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return [
        `TRUST_PROXY: "${entry}" is not an address, a subnet, loopback, linklocal or uniquelocal (${why}); ` +
          'use false, true, a hop count, or a comma list of those',
      ];
    }
  }
  return [];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The checks zod does not make; run even when zod failed, so every problem is reported at once. */
function crossChecks(nodeEnv: unknown, jwtSecret: unknown, databaseUrl: unknown): { problems: string[]; db?: URL; name: string } {
  const problems: string[] = [];
  const secret = typeof jwtSecret === 'string' ? jwtSecret : '';
  if (nodeEnv === 'production') {
    if (Buffer.byteLength(secret) < 32) problems.push('JWT_SECRET: production needs a secret of at least 32 bytes');
  } else if (secret && Buffer.byteLength(secret) < 32) {
    problems.push('JWT_SECRET: must be at least 32 bytes');
  }
  let db: URL | undefined;
  let name = 'im';
  if (typeof databaseUrl === 'string' && URL.canParse(databaseUrl)) {
    db = new URL(databaseUrl);
    if (!['mysql:', 'mariadb:'].includes(db.protocol)) problems.push('DATABASE_URL: must be mysql:// or mariadb://');
    try {
      name = decodeURIComponent(db.pathname.replace(/^\//, '')) || 'im';
      decodeURIComponent(db.username);
      decodeURIComponent(db.password);
    } catch {
      problems.push('DATABASE_URL: malformed percent-encoding');
      name = 'im';
    }
    if (!/^[A-Za-z0-9_]+$/.test(name)) problems.push('DATABASE_URL: database name may hold letters, digits and _ only');
  }
  return { problems, db, name };
}

/**
 * CORS_ORIGINS: `*`, or origins separated by commas. Unset: localhost origins outside
 * production, none (same-origin only) in production.
 */
function corsOrigins(raw: string | undefined, production: boolean, problems: string[]): Config['cors'] {
  if (raw === undefined || raw.trim() === '') return { allow: production ? 'list' : 'localhost', origins: [] };
  if (raw.trim() === '*') return { allow: 'any', origins: [] };
  const origins: string[] = [];
  for (const entry of raw.split(',').map((o) => o.trim()).filter(Boolean)) {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    // An origin is scheme://host[:port], nothing after it (a browser's Origin header never has a path).
    const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!url || !bare || !['http:', 'https:'].includes(url.protocol)) {
      problems.push(`CORS_ORIGINS: "${entry}" is not an origin like https://chat.example.com (or use *)`);
    } else origins.push(url.origin);
  }
  return { allow: 'list', origins };
}

/** METRICS_*: on outside production; in production only with METRICS_PORT or METRICS_ENABLED=true. */
function metricsSwitch(enabled: boolean | undefined, port: number | undefined, mainPort: number, production: boolean, problems: string[]): Config['metrics'] {
  if (port !== undefined && port !== 0 && port === mainPort) problems.push('METRICS_PORT: must differ from PORT (or leave it unset to serve /metrics on PORT)');
  return { enabled: enabled ?? (!production || port !== undefined), port };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    const extra = crossChecks(
      env.NODE_ENV ?? 'development',
      env.JWT_SECRET,
      bad.has('DATABASE_URL') ? undefined : env.DATABASE_URL,
    ).problems;
    throw new ConfigError([...issues, ...extra, ...trustProxyProblems(env.TRUST_PROXY)]);
  }
  const e = parsed.data;
  const { problems, db: parsedDb, name } = crossChecks(e.NODE_ENV, e.JWT_SECRET, e.DATABASE_URL);
  problems.push(...trustProxyProblems(e.TRUST_PROXY));
  let secret = e.JWT_SECRET ?? '';
  let generated = false;
  if (e.NODE_ENV !== 'production' && !secret) {
    secret = randomBytes(32).toString('base64url');
    generated = true;
  }
  const production = e.NODE_ENV === 'production';
  const cors = corsOrigins(e.CORS_ORIGINS, production, problems);
  const metrics = metricsSwitch(e.METRICS_ENABLED, e.METRICS_PORT, e.PORT, production, problems);
  // Both or neither: a half-configured cluster node would quietly run alone.
  if ((e.DATABASE_URL === undefined) !== (e.REDIS_URL === undefined)) {
    problems.push(
      `${e.DATABASE_URL === undefined ? 'DATABASE_URL' : 'REDIS_URL'}: set both DATABASE_URL and REDIS_URL (MariaDB and Redis, any number of nodes) or neither (embedded: one node on SQLite in DATA_DIR)`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  const mode = e.DATABASE_URL === undefined ? 'embedded' : 'cluster';
  const dev = !production;
  const database: Config['database'] =
    mode === 'embedded' || !parsedDb
      ? { kind: 'sqlite', file: join(e.DATA_DIR, SQLITE_FILE), name: SQLITE_FILE }
      : {
          kind: 'mariadb',
          url: e.DATABASE_URL!,
          host: parsedDb.hostname,
          port: Number(parsedDb.port || 3306),
          user: decodeURIComponent(parsedDb.username || 'root'),
          password: decodeURIComponent(parsedDb.password),
          name,
        };
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    mode,
    database,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    jwt: { secret, generated, accessTtlS: e.ACCESS_TOKEN_TTL, refreshTtlS: e.REFRESH_TOKEN_TTL },
    sessions: { refreshReuseS: e.REFRESH_REUSE_INTERVAL_S, cacheTtlS: e.SESSION_CACHE_TTL_S, recheckS: e.SESSION_RECHECK_S },
    dataDir: e.DATA_DIR,
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? dev,
      landingPage: e.GRAPHQL_LANDING_PAGE ?? dev,
    },
    limits: {
      depth: e.LIMIT_DEPTH,
      aliases: e.LIMIT_ALIASES,
      cost: e.LIMIT_COST,
      tokens: e.LIMIT_TOKENS,
      directives: e.LIMIT_DIRECTIVES,
    },
    http: { maxBody: e.HTTP_MAX_BODY },
    ws: { maxPayload: e.WS_MAX_PAYLOAD, initTimeoutMs: e.WS_INIT_TIMEOUT_MS },
    delivery: {
      ackTimeoutMs: e.ACK_TIMEOUT_MS,
      // A job waits for every device's ack, so its timeout must outlast the ack timeout.
      jobTimeoutMs: e.JOB_TIMEOUT_MS ?? e.ACK_TIMEOUT_MS * 2 + 5000,
      concurrency: e.DELIVERY_CONCURRENCY,
      fanoutBatch: e.FANOUT_BATCH,
      presenceTtlS: e.PRESENCE_TTL_S,
      stallIntervalMs: e.STALL_INTERVAL_MS,
      syncMaxLimit: e.SYNC_MAX_LIMIT,
    },
    groups: { maxSize: e.GROUP_MAX_SIZE },
    rateLimits: {
      loginAccount: e.RL_LOGIN_ACCOUNT,
      loginIp: e.RL_LOGIN_IP,
      registerIp: e.RL_REGISTER_IP,
      refreshSession: e.RL_REFRESH_SESSION,
      sendBurst: e.RL_SEND_BURST,
      sendSustained: e.RL_SEND_SUSTAINED,
      friendRequest: e.RL_FRIEND_REQUEST,
      groupCreate: e.RL_GROUP_CREATE,
      markRead: e.RL_MARK_READ,
      typing: e.RL_TYPING,
    },
    sockets: {
      perUser: e.WS_MAX_SOCKETS_PER_USER,
      perDevice: e.WS_MAX_SOCKETS_PER_DEVICE,
      perIp: e.WS_MAX_SOCKETS_PER_IP,
      subscriptions: e.WS_MAX_SUBSCRIPTIONS,
      pushQueue: e.WS_PUSH_QUEUE,
    },
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    cache: { ttlS: e.CACHE_TTL_S },
    logLevel: e.LOG_LEVEL,
    metrics,
    cors,
  };
}
