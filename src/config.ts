import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The only reader of process.env. Everything else receives a Config.
 * Validation errors are collected and reported together, one line per key.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().default('mysql://root@127.0.0.1:3306/im'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/).default('im:'),
  JWT_SECRET: z.string().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ACCESS_TOKEN_TTL: z.coerce.number().int().min(5).max(86_400).default(900),
  REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).default(30 * 86_400),
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_LANDING_PAGE: bool.optional(),
  LIMIT_DEPTH: z.coerce.number().int().min(1).default(10),
  LIMIT_ALIASES: z.coerce.number().int().min(0).default(15),
  LIMIT_COST: z.coerce.number().int().min(1).default(5000),
  LIMIT_TOKENS: z.coerce.number().int().min(1).default(1000),
  LIMIT_DIRECTIVES: z.coerce.number().int().min(0).default(10),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  database: { url: string; host: string; port: number; user: string; password: string; name: string };
  redis: { url: string; prefix: string };
  /**
   * `generated`: no JWT_SECRET was given and `secret` is random for this
   * process; in development main.ts replaces it with the one kept in `dataDir`.
   */
  jwt: { secret: string; generated: boolean; accessTtlS: number; refreshTtlS: number };
  /** Where the server keeps its local state (the development JWT secret), relative to the working directory unless absolute. */
  dataDir: string;
  graphql: { introspection: boolean; landingPage: boolean };
  limits: { depth: number; aliases: number; cost: number; tokens: number; directives: number };
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
  cache: { ttlS: number };
  logLevel: string;
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

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    const extra = crossChecks(
      env.NODE_ENV ?? 'development',
      env.JWT_SECRET,
      bad.has('DATABASE_URL') ? undefined : (env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/im'),
    ).problems;
    throw new ConfigError([...issues, ...extra]);
  }
  const e = parsed.data;
  const { problems, db: parsedDb, name } = crossChecks(e.NODE_ENV, e.JWT_SECRET, e.DATABASE_URL);
  let secret = e.JWT_SECRET ?? '';
  let generated = false;
  if (e.NODE_ENV !== 'production' && !secret) {
    secret = randomBytes(32).toString('base64url');
    generated = true;
  }
  if (problems.length) throw new ConfigError(problems);
  const db = parsedDb!;
  const dev = e.NODE_ENV !== 'production';
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    database: {
      url: e.DATABASE_URL,
      host: db.hostname,
      port: Number(db.port || 3306),
      user: decodeURIComponent(db.username || 'root'),
      password: decodeURIComponent(db.password),
      name,
    },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    jwt: { secret, generated, accessTtlS: e.ACCESS_TOKEN_TTL, refreshTtlS: e.REFRESH_TOKEN_TTL },
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
    cache: { ttlS: e.CACHE_TTL_S },
    logLevel: e.LOG_LEVEL,
  };
}
