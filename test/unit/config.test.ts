import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';

const SECRET_32 = 'x'.repeat(32);

/** Runs loadConfig expecting a ConfigError; returns its problems. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.ok(Array.isArray(e.problems) && e.problems.length > 0, 'a ConfigError lists its problems');
    // Every problem is one readable line that starts with the key it concerns.
    for (const p of e.problems) {
      assert.match(p, /^[A-Z_]+: \S/, `problem "${p}" names its key`);
      assert.ok(!p.includes('\n'), 'one line per problem');
      assert.ok(e.message.includes(p), 'the message lists every problem');
    }
    return e.problems;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

test('defaults: port 4000, embedded (SQLite in ./data, no Redis), development', () => {
  const c = loadConfig({});
  assert.equal(c.env, 'development');
  assert.equal(c.port, 4000);
  assert.equal(c.mode, 'embedded');
  assert.deepEqual(c.database, { kind: 'sqlite', file: join('data', 'im.sqlite'), name: 'im.sqlite' });
  assert.equal(c.redis.url, undefined);
  assert.equal(c.redis.prefix, 'im:');
  assert.equal(c.jwt.accessTtlS, 900);
  assert.deepEqual(c.limits, { depth: 10, aliases: 15, cost: 5000, tokens: 1000, directives: 10 });
  assert.equal(c.ws.maxPayload, 64 * 1024);
  assert.equal(c.ws.initTimeoutMs, 3000);
});

test('loadConfig is pure: it reads only the env it is given', () => {
  const before = process.env.PORT;
  process.env.PORT = '1234';
  try {
    assert.equal(loadConfig({}).port, 4000);
    assert.equal(loadConfig({ PORT: '5000' }).port, 5000);
  } finally {
    if (before === undefined) delete process.env.PORT;
    else process.env.PORT = before;
  }
});

test('both URLs select the cluster stack; one alone is a problem naming the other', () => {
  const c = loadConfig({ DATABASE_URL: 'mysql://root@127.0.0.1:3306/im', REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.equal(c.mode, 'cluster');
  assert.equal(c.database.kind, 'mariadb');
  assert.equal(c.redis.url, 'redis://127.0.0.1:6379');
  const onlyDb = problemsOf({ DATABASE_URL: 'mysql://root@127.0.0.1:3306/im' });
  assert.ok(onlyDb.some((p) => p.startsWith('REDIS_URL: ') && /neither/.test(p)), onlyDb.join('; '));
  const onlyRedis = problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.ok(onlyRedis.some((p) => p.startsWith('DATABASE_URL: ') && /both/.test(p)), onlyRedis.join('; '));
  assert.deepEqual(loadConfig({ DATA_DIR: 'var/im' }).database, { kind: 'sqlite', file: join('var/im', 'im.sqlite'), name: 'im.sqlite' });
});

test('DATABASE_URL parts are taken apart (user, password, host, port, name)', () => {
  const c = loadConfig({ DATABASE_URL: 'mariadb://me:p%40ss@db.local:3307/chat_1', REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.ok(c.database.kind === 'mariadb');
  assert.deepEqual(
    { host: c.database.host, port: c.database.port, user: c.database.user, password: c.database.password, name: c.database.name },
    { host: 'db.local', port: 3307, user: 'me', password: 'p@ss', name: 'chat_1' },
  );
});

test('development without JWT_SECRET generates a random 32-byte secret (generated = true)', () => {
  const a = loadConfig({ NODE_ENV: 'development' });
  const b = loadConfig({ NODE_ENV: 'development' });
  assert.equal(a.jwt.generated, true);
  assert.ok(Buffer.byteLength(a.jwt.secret) >= 32, 'the generated secret is at least 32 bytes');
  assert.notEqual(a.jwt.secret, b.jwt.secret, 'each process gets its own random secret');
  const given = loadConfig({ NODE_ENV: 'development', JWT_SECRET: SECRET_32 });
  assert.equal(given.jwt.generated, false);
  assert.equal(given.jwt.secret, SECRET_32);
});

// RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output, 256 bits = 32 bytes.
test('production refuses to start without JWT_SECRET, or with one under 32 bytes', () => {
  for (const secret of [undefined, '', 'short', 'x'.repeat(31)]) {
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: secret });
    assert.ok(problems.some((p) => p.startsWith('JWT_SECRET')), `JWT_SECRET=${String(secret)}: ${problems.join('; ')}`);
  }
  // The minimum counts bytes: 16 two-byte characters are 32 bytes and are enough, 31 ASCII bytes are not.
  const c = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) });
  assert.equal(c.jwt.generated, false);
  assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET_32 }).jwt.secret, SECRET_32);
});

test('a short JWT_SECRET is refused outside production as well (never silently weak)', () => {
  assert.ok(problemsOf({ NODE_ENV: 'development', JWT_SECRET: 'short' }).some((p) => p.startsWith('JWT_SECRET')));
});

test('a bad PORT is a readable problem naming PORT', () => {
  for (const port of ['abc', '-1', '65536', '1.5']) {
    const problems = problemsOf({ PORT: port });
    assert.equal(problems.length, 1, problems.join('; '));
    assert.match(problems[0], /^PORT: /);
  }
  assert.equal(loadConfig({ PORT: '0' }).port, 0, 'PORT=0 picks a free port');
  assert.equal(loadConfig({ PORT: '65535' }).port, 65535);
});

test('a bad DATABASE_URL is a readable problem naming DATABASE_URL', () => {
  // A malformed percent-escape must be a ConfigError too, not a URIError thrown from decoding.
  for (const url of ['not a url', 'postgres://root@127.0.0.1/im', 'mysql://root@127.0.0.1:3306/bad-name;drop', 'mysql://r%ZZ@127.0.0.1/im', 'mysql://root@127.0.0.1/%E0%A4%A']) {
    const problems = problemsOf({ DATABASE_URL: url, REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.ok(problems.length >= 1 && problems.every((p) => p.startsWith('DATABASE_URL: ')), `${url}: ${problems.join('; ')}`);
  }
});

test('several problems are reported together, one per key', () => {
  const problems = problemsOf({ PORT: 'abc', DATABASE_URL: 'nope', NODE_ENV: 'production' });
  for (const key of ['PORT', 'DATABASE_URL', 'JWT_SECRET']) {
    assert.ok(problems.some((p) => p.startsWith(`${key}: `)), `${key} is among ${problems.join('; ')}`);
  }
});

test('bounds of the numeric settings: ACCESS_TOKEN_TTL at least 5 s, WS_INIT_TIMEOUT_MS at least 100 ms', () => {
  assert.equal(loadConfig({ ACCESS_TOKEN_TTL: '5' }).jwt.accessTtlS, 5);
  assert.match(problemsOf({ ACCESS_TOKEN_TTL: '4' })[0], /^ACCESS_TOKEN_TTL: /);
  assert.equal(loadConfig({ WS_INIT_TIMEOUT_MS: '300' }).ws.initTimeoutMs, 300);
  assert.match(problemsOf({ WS_INIT_TIMEOUT_MS: '99' })[0], /^WS_INIT_TIMEOUT_MS: /);
  assert.match(problemsOf({ NODE_ENV: 'staging' })[0], /^NODE_ENV: /);
  const l = loadConfig({ LIMIT_DEPTH: '4', LIMIT_ALIASES: '2', LIMIT_COST: '30', LIMIT_TOKENS: '40', LIMIT_DIRECTIVES: '1' }).limits;
  assert.deepEqual(l, { depth: 4, aliases: 2, cost: 30, tokens: 40, directives: 1 });
  assert.match(problemsOf({ LIMIT_DEPTH: '0' })[0], /^LIMIT_DEPTH: /);
});

// OWASP GraphQL Cheat Sheet ("Introspection + GraphiQL"): both off in production unless asked for.
test('introspection and the landing page are on in development and test, off in production', () => {
  for (const env of ['development', 'test']) {
    const c = loadConfig({ NODE_ENV: env });
    assert.deepEqual(c.graphql, { introspection: true, landingPage: true }, env);
  }
  const prod = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET_32 });
  assert.deepEqual(prod.graphql, { introspection: false, landingPage: false });
});

test('GRAPHQL_INTROSPECTION / GRAPHQL_LANDING_PAGE turn them on in production (and off in development), each on its own', () => {
  const base = { NODE_ENV: 'production', JWT_SECRET: SECRET_32 };
  assert.deepEqual(loadConfig({ ...base, GRAPHQL_INTROSPECTION: 'true' }).graphql, { introspection: true, landingPage: false });
  assert.deepEqual(loadConfig({ ...base, GRAPHQL_LANDING_PAGE: '1' }).graphql, { introspection: false, landingPage: true });
  assert.deepEqual(loadConfig({ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: 'false', GRAPHQL_LANDING_PAGE: 'no' }).graphql, {
    introspection: false,
    landingPage: false,
  });
  assert.match(problemsOf({ GRAPHQL_INTROSPECTION: 'maybe' })[0], /^GRAPHQL_INTROSPECTION: /);
});

test('sessions: refresh reuse interval 20 s, liveness cached 60 s, sockets re-checked every 30 s; bounds enforced', () => {
  assert.deepEqual(loadConfig({}).sessions, { refreshReuseS: 20, cacheTtlS: 60, recheckS: 30 });
  assert.deepEqual(
    loadConfig({ REFRESH_REUSE_INTERVAL_S: '0', SESSION_CACHE_TTL_S: '5', SESSION_RECHECK_S: '2' }).sessions,
    { refreshReuseS: 0, cacheTtlS: 5, recheckS: 2 },
  );
  assert.ok(problemsOf({ REFRESH_REUSE_INTERVAL_S: '301' }).some((p) => p.startsWith('REFRESH_REUSE_INTERVAL_S:')));
  assert.ok(problemsOf({ SESSION_CACHE_TTL_S: '0' }).some((p) => p.startsWith('SESSION_CACHE_TTL_S:')));
});

test('rate limits: "points/seconds[/block]" or "off", each named; socket caps; TRUST_PROXY forms', () => {
  const c = loadConfig({});
  assert.deepEqual(c.rateLimits.loginAccount, { points: 10, durationS: 900, blockS: 900 });
  assert.deepEqual(c.rateLimits.sendBurst, { points: 30, durationS: 5, blockS: 0 });
  assert.deepEqual(c.sockets, { perUser: 16, perDevice: 4, perIp: 1000, subscriptions: 16, pushQueue: 1024 });
  assert.equal(c.trustProxy, false);
  const d = loadConfig({ RL_TYPING: 'off', RL_MARK_READ: '5/10/30', TRUST_PROXY: '2' });
  assert.equal(d.rateLimits.typing, null);
  assert.deepEqual(d.rateLimits.markRead, { points: 5, durationS: 10, blockS: 30 });
  assert.equal(d.trustProxy, 2);
  assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy, ['loopback', '10.0.0.0/8']);
  for (const bad of ['10', '10/0', '0/10', 'ten/60', '5/60/x']) {
    assert.ok(problemsOf({ RL_SEND_BURST: bad }).some((p) => p.startsWith('RL_SEND_BURST:')), bad);
  }
});

test('HTTP_MAX_BODY: 256 KiB by default, in bytes, at least 1024', () => {
  assert.equal(loadConfig({}).http.maxBody, 256 * 1024);
  assert.equal(loadConfig({ HTTP_MAX_BODY: '1048576' }).http.maxBody, 1_048_576);
  assert.ok(problemsOf({ HTTP_MAX_BODY: '10' }).some((p) => p.startsWith('HTTP_MAX_BODY: ')));
  assert.ok(problemsOf({ HTTP_MAX_BODY: '256kb' }).some((p) => p.startsWith('HTTP_MAX_BODY: ')));
});

test('metrics: on outside production on the main port; off in production unless METRICS_PORT or METRICS_ENABLED=true', () => {
  for (const env of ['development', 'test']) assert.deepEqual(loadConfig({ NODE_ENV: env }).metrics, { enabled: true, port: undefined }, env);
  const base = { NODE_ENV: 'production', JWT_SECRET: SECRET_32 };
  assert.deepEqual(loadConfig(base).metrics, { enabled: false, port: undefined });
  assert.deepEqual(loadConfig({ ...base, METRICS_PORT: '9464' }).metrics, { enabled: true, port: 9464 });
  assert.deepEqual(loadConfig({ ...base, METRICS_ENABLED: 'true' }).metrics, { enabled: true, port: undefined });
  assert.deepEqual(loadConfig({ ...base, METRICS_PORT: '9464', METRICS_ENABLED: 'false' }).metrics, { enabled: false, port: 9464 });
  assert.deepEqual(loadConfig({ METRICS_ENABLED: 'no' }).metrics, { enabled: false, port: undefined });
  assert.equal(loadConfig({ METRICS_PORT: '0' }).metrics.port, 0, 'METRICS_PORT=0 picks a free port');
  for (const port of ['abc', '-1', '65536']) assert.match(problemsOf({ METRICS_PORT: port })[0], /^METRICS_PORT: /);
  assert.match(problemsOf({ PORT: '4000', METRICS_PORT: '4000' })[0], /^METRICS_PORT: must differ from PORT/);
  assert.match(problemsOf({ METRICS_ENABLED: 'maybe' })[0], /^METRICS_ENABLED: /);
});

test('CORS_ORIGINS: localhost origins by default outside production, none in production, * or an explicit list', () => {
  assert.deepEqual(loadConfig({}).cors, { allow: 'localhost', origins: [] });
  assert.deepEqual(loadConfig({ NODE_ENV: 'test' }).cors, { allow: 'localhost', origins: [] });
  assert.deepEqual(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET_32 }).cors, { allow: 'list', origins: [] });
  assert.deepEqual(loadConfig({ CORS_ORIGINS: '*' }).cors, { allow: 'any', origins: [] });
  // Origins are compared as browsers send them: lower-case host, no default port, no trailing slash.
  assert.deepEqual(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET_32, CORS_ORIGINS: 'https://Chat.Example.com, http://127.0.0.1:8080/ ,https://a.example:443' }).cors, {
    allow: 'list',
    origins: ['https://chat.example.com', 'http://127.0.0.1:8080', 'https://a.example'],
  });
  for (const bad of ['chat.example.com', 'https://chat.example.com/app', 'ftp://chat.example.com', 'https://a.example,*']) {
    const problems = problemsOf({ CORS_ORIGINS: bad });
    assert.ok(problems.length >= 1 && problems.every((p) => p.startsWith('CORS_ORIGINS: ')), `${bad}: ${problems.join('; ')}`);
  }
});

// Checked with proxy-addr's own compile, as Express will at startup: a bad value is a listed problem (exit 78), not a crash later.
test('TRUST_PROXY: a value proxy-addr cannot compile is a problem naming TRUST_PROXY, listed with the others', () => {
  for (const bad of ['maybe', '999.1.1.1', '10.0.0.0/33', 'loopback, 10.0.0.300', '1.5']) {
    const problems = problemsOf({ TRUST_PROXY: bad });
    assert.equal(problems.length, 1, `${bad}: ${problems.join('; ')}`);
    assert.match(problems[0], /^TRUST_PROXY: /, bad);
    assert.ok(problems[0].includes(JSON.stringify(bad.split(',').pop()!.trim())), `${bad}: names the bad entry: ${problems[0]}`);
  }
  // A negative hop count is said to be one, not "an invalid IP address".
  assert.match(problemsOf({ TRUST_PROXY: '-3' })[0], /^TRUST_PROXY: a hop count cannot be negative/);
  // With other problems, zod's included: every one is listed at once.
  const all = problemsOf({ JWT_SECRET: 'short', LIMIT_DEPTH: '-1', RL_SEND_BURST: 'foo', TRUST_PROXY: 'maybe' });
  for (const key of ['JWT_SECRET', 'LIMIT_DEPTH', 'RL_SEND_BURST', 'TRUST_PROXY']) {
    assert.ok(all.some((p) => p.startsWith(`${key}: `)), `${key} is among ${all.join('; ')}`);
  }
  // The forms that compile are kept as they were.
  assert.deepEqual(loadConfig({ TRUST_PROXY: '::1, fe80::/10, uniquelocal' }).trustProxy, ['::1', 'fe80::/10', 'uniquelocal']);
  assert.equal(loadConfig({ TRUST_PROXY: '0' }).trustProxy, 0);
  assert.equal(loadConfig({ TRUST_PROXY: ' false ' }).trustProxy, false);
});
