import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { createConnection } from 'mariadb';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { dropDatabase } from '../../src/db/orm';
import { runOn } from '../../src/db/sqlite-pool';
import { createLogger } from '../../src/logger';
import { compose, type App } from '../../src/main';
import { createRedis } from '../../src/redis';
import { LIMITS_OFF } from './limits-off';

export interface GqlResult<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown } }>;
}

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  dbName: string;
  prefix: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Which stack the integration suite runs against (scripts/run-tests.js sets
 * TEST_MODE): `embedded`, SQLite in a temporary DATA_DIR and in-process
 * stand-ins for Redis; `cluster`, MariaDB and Redis on their standard ports.
 */
export const testMode: 'embedded' | 'cluster' = process.env.TEST_MODE === 'embedded' ? 'embedded' : 'cluster';

/** `{ skip }` for a test of the embedded stack itself (its data directory, its process): it runs in the embedded pass. */
export const embeddedOnly = () => ({ skip: testMode === 'embedded' ? false : 'embedded only: it runs in the embedded pass' });

/** `{ skip }` for a test that needs MariaDB and Redis themselves (their keys, scripts, restarts, a second node). */
export const clusterOnly = (why: string) => ({ skip: testMode === 'cluster' ? false : `cluster only: ${why}` });

/** A fresh database and Redis prefix (cluster) or data directory (embedded) for this run, removed again by close(). */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const stack: Record<string, string> =
    testMode === 'embedded'
      ? { DATA_DIR: join(tmpdir(), `im-test-${id}`) }
      : { DATABASE_URL: `mysql://root@127.0.0.1:3306/im_test_${id}`, REDIS_URL: 'redis://127.0.0.1:6379' };
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...stack,
    REDIS_PREFIX: `imtest:${id}:`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ...LIMITS_OFF,
    ...extra,
  };
}

export async function startServer(extra: Record<string, string> = {}, shared?: Record<string, string>): Promise<TestServer> {
  const env = shared ? { ...shared, ...extra } : testEnv(extra);
  const config = loadConfig(env);
  const app = await compose(config, createLogger(config.logLevel));
  const url = `http://127.0.0.1:${app.port()}/graphql`;
  let closed = false;
  return {
    app,
    url,
    wsUrl: url.replace('http', 'ws'),
    dbName: config.database.name,
    prefix: config.redis.prefix,
    env,
    async close() {
      if (closed) return;
      closed = true;
      await app.stop();
      if (!shared) await cleanupEnv(env);
    },
  };
}

/** Drops the run's database and deletes its Redis keys, or removes its data directory (never anything else). */
export async function cleanupEnv(env: Record<string, string>): Promise<void> {
  const config = loadConfig(env);
  if (config.database.kind === 'sqlite') {
    await rm(config.dataDir, { recursive: true, force: true });
    return;
  }
  await dropDatabase(config.database);
  const redis = createRedis(config.redis.url!, 'im-test-cleanup');
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/** Throws unless the operation succeeded; returns data. */
export async function ok<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const r = await gql<T>(url, query, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`operation failed: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** The error code of a failed operation (asserting it failed and stored nothing is the caller's part). */
export async function errorCode(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<string | undefined> {
  const r = await gql(url, query, variables, token);
  if (!r.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(r.data)}`);
  return r.errors[0].extensions?.code;
}

export interface TestUser {
  id: string;
  account: string;
  token: string;
  refreshToken: string;
  deviceId: string;
}

let counter = 0;
export async function registerUser(url: string, name?: string, deviceId?: string): Promise<TestUser> {
  const account = name ?? `user${++counter}_${randomBytes(3).toString('hex')}`;
  const d = await ok(url, `mutation($a: String!, $d: String) { register(account: $a, password: "password123", deviceId: $d) { accessToken refreshToken deviceId user { id } } }`, { a: account, d: deviceId });
  return { id: d.register.user.id, account, token: d.register.accessToken, refreshToken: d.register.refreshToken, deviceId: d.register.deviceId };
}

export async function loginUser(url: string, account: string, deviceId?: string): Promise<TestUser> {
  const d = await ok(url, `mutation($a: String!, $d: String) { login(account: $a, password: "password123", deviceId: $d) { accessToken refreshToken deviceId user { id } } }`, { a: account, d: deviceId });
  return { id: d.login.user.id, account, token: d.login.accessToken, refreshToken: d.login.refreshToken, deviceId: d.login.deviceId };
}

/** A graphql-ws client that reports how the socket closed. */
export function wsClient(wsUrl: string, params: Record<string, unknown> | (() => Record<string, unknown>), opts: { lazy?: boolean; retryAttempts?: number } = {}): Client & { closed: Promise<{ code: number; reason: string }> } {
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: typeof params === 'function' ? params : () => params,
    lazy: opts.lazy ?? false,
    retryAttempts: opts.retryAttempts ?? 0,
    on: { closed: (e: any) => resolveClosed({ code: e?.code, reason: String(e?.reason ?? '') }) },
  });
  return Object.assign(client, { closed });
}

/** Subscribe and collect values; `next(n)` waits until n values arrived. */
export function collect<T = any>(client: Client, query: string, variables?: Record<string, unknown>) {
  const values: T[] = [];
  const errors: unknown[] = [];
  const waiters: Array<() => void> = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) errors.push(v.errors);
        if (v.data) values.push(v.data as T);
        waiters.splice(0).forEach((w) => w());
      },
      error: (e) => {
        errors.push(e);
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => undefined,
    },
  );
  return {
    values,
    errors,
    dispose,
    async waitFor(n: number, timeoutMs = 10_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (values.length < n) {
        if (errors.length) throw new Error(`subscription error: ${JSON.stringify(errors)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${n} values, have ${values.length}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return values;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One query on a test server's database, on a connection of its own (BIGINT columns come back as numbers). */
export async function queryDb<T = Record<string, unknown>>(s: TestServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await openDb(s);
  try {
    return (await c.query(sql, params)) as T[];
  } finally {
    await c.end();
  }
}

/**
 * A connection of the test's own to a server's database: MariaDB's, or the
 * embedded SQLite file (WAL lets it read beside the server). `query` answers
 * rows for a SELECT and `{ affectedRows, insertId }` otherwise; BIGINTs come
 * back as numbers, and a Date parameter is stored as that dialect's ORM does.
 */
export async function openDb(s: Pick<TestServer, 'env'>, bigIntAsNumber = true): Promise<TestDb> {
  const config = loadConfig(s.env);
  if (config.database.kind === 'sqlite') {
    const file = config.database.file;
    const conn = new BetterSqlite(file);
    conn.pragma('busy_timeout = 5000');
    return {
      dialect: 'sqlite',
      query: async (sql, params = []) => {
        const text = sql.replace(/\bINSERT IGNORE\b/g, 'INSERT OR IGNORE');
        const rows = runOn(conn, text, params);
        if (bigIntAsNumber || !Array.isArray(rows)) return rows;
        // As MariaDB's BIGINTs with bigIntAsNumber off: the columns declared BIGINT come back as bigint.
        const big = conn.prepare(text).columns().filter((c) => c.type === 'BIGINT').map((c) => c.name);
        for (const r of rows as Record<string, unknown>[]) for (const k of big) if (typeof r[k] === 'number') r[k] = BigInt(r[k] as number);
        return rows;
      },
      end: async () => void conn.close(),
    };
  }
  const c = await createConnection({ host: '127.0.0.1', user: 'root', database: config.database.name, bigIntAsNumber, insertIdAsNumber: true });
  return { dialect: 'mariadb', query: (sql, params = []) => c.query(sql, params), end: () => c.end() };
}

export interface TestDb {
  dialect: 'mariadb' | 'sqlite';
  query(sql: string, params?: unknown[]): Promise<any>;
  end(): Promise<void>;
}
