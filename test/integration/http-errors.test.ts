import 'reflect-metadata';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { compose } from '../../src/main';
import { cleanupEnv, registerUser, startServer, testEnv, type TestServer } from '../support/harness';

// Every failure on /graphql (and any path beside it) is a JSON GraphQL error
// response with errors[0].extensions.code, with no stack trace and no path of
// the server's files, whatever failed: the body parser, Apollo, or the router.

let dev: TestServer;
let prod: TestServer;
before(async () => {
  dev = await startServer();
  prod = await startServer({ NODE_ENV: 'production', HTTP_MAX_BODY: '4096' });
});
after(async () => {
  await dev?.close();
  await prod?.close();
});

const root = path.resolve(__dirname, '..', '..', '..');
/** Where the server's files are, as a stack trace would name them (node_modules may be a symlink). */
const serverPaths = [...new Set([root, fs.realpathSync(root), path.dirname(fs.realpathSync(path.join(root, 'node_modules')))])];

interface Case {
  name: string;
  method?: string;
  /** Appended to the /graphql URL: a query string or a sub-path. */
  at?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  code: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const PREFLIGHT = { 'apollo-require-preflight': 'true' };
const big = (bytes: number) => JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(bytes) } });

const CASES: Case[] = [
  { name: 'a 1 MB body', headers: JSON_TYPE, body: big(1 << 20), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'invalid JSON', headers: JSON_TYPE, body: '{"query": ', status: 400, code: 'BAD_REQUEST' },
  { name: 'JSON that is not an object', headers: JSON_TYPE, body: 'null', status: 400, code: 'BAD_REQUEST' },
  { name: 'an empty body', headers: JSON_TYPE, body: '', status: 400, code: 'BAD_REQUEST' },
  { name: 'an object without a query', headers: JSON_TYPE, body: '{}', status: 400, code: 'BAD_REQUEST' },
  { name: 'content type text/plain', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}', status: 400, code: 'BAD_REQUEST' },
  { name: 'content type application/graphql', headers: { 'content-type': 'application/graphql' }, body: '{ __typename }', status: 400, code: 'BAD_REQUEST' },
  { name: 'an unsupported charset', headers: { 'content-type': 'application/json; charset=klingon' }, body: '{}', status: 415, code: 'BAD_REQUEST' },
  { name: 'an unsupported content encoding', headers: { ...JSON_TYPE, 'content-encoding': 'x-unknown' }, body: '{}', status: 415, code: 'BAD_REQUEST' },
  { name: 'gzip that is not gzip', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: '{}', status: 400, code: 'BAD_REQUEST' },
  { name: 'a body that is not valid UTF-8', headers: JSON_TYPE, body: Buffer.from([...Buffer.from('{"query":"{ __typename }","variables":{"c":"a'), 0xff, 0xfe, ...Buffer.from('b"}}')]), status: 400, code: 'BAD_REQUEST' },
  { name: 'a batch (disabled)', headers: JSON_TYPE, body: '[{"query":"{ __typename }"}]', status: 400, code: 'BAD_REQUEST' },
  // Persisted queries are off: a hash (matching or not) gets its own code, never an internal error.
  {
    name: 'a persisted-query hash',
    headers: JSON_TYPE,
    body: '{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}',
    status: 200,
    code: 'PERSISTED_QUERY_NOT_SUPPORTED',
  },
  { name: 'a GET with a query that does not parse', method: 'GET', at: `?query=${encodeURIComponent('{')}`, headers: PREFLIGHT, status: 400, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'a GET with variables that are not JSON', method: 'GET', at: `?query=${encodeURIComponent('{ __typename }')}&variables=%7B`, headers: PREFLIGHT, status: 400, code: 'BAD_REQUEST' },
  { name: 'a GET without the CSRF preflight header', method: 'GET', at: `?query=${encodeURIComponent('{ __typename }')}`, status: 400, code: 'BAD_REQUEST' },
  { name: 'a GET mutation', method: 'GET', at: `?query=${encodeURIComponent('mutation { logout }')}`, headers: PREFLIGHT, status: 405, code: 'BAD_REQUEST' },
  { name: 'PUT', method: 'PUT', headers: JSON_TYPE, body: '{"query":"{ __typename }"}', status: 405, code: 'BAD_REQUEST' },
  { name: 'a path below /graphql', at: '/nothing', headers: JSON_TYPE, body: '{"query":"{ __typename }"}', status: 404, code: 'NOT_FOUND' },
];

async function call(s: TestServer, c: Pick<Case, 'method' | 'at' | 'headers' | 'body'>, url = s.url): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url + (c.at ?? ''), { method: c.method ?? 'POST', headers: c.headers, body: c.body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** JSON, a GraphQL error response with the code, and nothing of a stack trace. */
function assertGraphQLError(r: { status: number; type: string; text: string }, status: number, code: string, label: string): void {
  assert.equal(r.status, status, `${label}: status (${r.text.slice(0, 200)})`);
  assert.match(r.type, /^application\/json/, `${label}: content type`);
  const body = JSON.parse(r.text) as { errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> };
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `${label}: errors`);
  assert.equal(typeof body.errors[0].message, 'string', `${label}: message`);
  assert.equal(body.errors[0].extensions?.code, code, `${label}: extensions.code`);
  assert.doesNotMatch(r.text, /stacktrace|<html|<pre>|\bat \S+ \(|node_modules|\.[jt]s:[0-9]+/i, `${label}: no stack trace or page`);
  for (const p of serverPaths) assert.ok(!r.text.includes(p), `${label}: names no path of the server (${p})`);
}

for (const c of CASES) {
  test(`HTTP: ${c.name} gets ${c.status} ${c.code} as JSON, in test and in production`, async () => {
    assertGraphQLError(await call(dev, c), c.status, c.code, 'test');
    assertGraphQLError(await call(prod, c), c.status, c.code, 'production');
  });
}

test('HTTP: a path beside /graphql gets 404 NOT_FOUND as JSON', async () => {
  for (const s of [dev, prod]) {
    assertGraphQLError(await call(s, { method: 'GET' }, s.url.replace('/graphql', '/nothing')), 404, 'NOT_FOUND', s.env.NODE_ENV);
  }
});

test('HTTP: the body limit is HTTP_MAX_BODY (4096 in production here, 256 KiB by default), and a body under it is served', async () => {
  const over = await call(prod, { headers: JSON_TYPE, body: big(5000) });
  assertGraphQLError(over, 413, 'PAYLOAD_TOO_LARGE', 'over 4096');
  assert.match(JSON.parse(over.text).errors[0].message, /4096 bytes/);
  const under = await call(prod, { headers: JSON_TYPE, body: big(3000) });
  assert.equal(under.status, 200, under.text);
  assert.deepEqual(JSON.parse(under.text), { data: { __typename: 'Query' } });
  // The limit holds for the body once decompressed: a gzip body of about 1 KB that inflates to 1 MB is refused.
  const packed = await call(dev, { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: gzipSync(big(1 << 20)) });
  assertGraphQLError(packed, 413, 'PAYLOAD_TOO_LARGE', 'gzip over the limit');
  const fine = await call(dev, { headers: JSON_TYPE, body: big(200 * 1024) });
  assert.equal(fine.status, 200, fine.text.slice(0, 200));
});

test('HTTP: /graphql/ with a trailing slash still serves GraphQL', async () => {
  const r = await call(dev, { at: '/', headers: JSON_TYPE, body: '{"query":"{ __typename }"}' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), { data: { __typename: 'Query' } });
});

// Subscriptions are the socket's (graphql-transport-ws on the same path). Over HTTP
// one is the client's mistake: 400 BAD_REQUEST saying where to go, never an
// INTERNAL_SERVER_ERROR, and never an error in the log (any client could fill it).
test('HTTP: a subscription gets 400 BAD_REQUEST pointing at the WebSocket, in test and in production, and logs no error', async () => {
  const lines: Array<{ level: number; msg?: string }> = [];
  const env = testEnv({ NODE_ENV: 'production' });
  const app = await compose(loadConfig(env), pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }));
  const logged = { ...prod, url: `http://127.0.0.1:${app.port()}/graphql` };
  try {
    for (const [label, s] of [['test', dev], ['production', prod], ['production, logged', logged]] as const) {
      const token = (await registerUser(s.url)).token;
      for (const field of ['messages { id }', 'notifications { id }', 'readReceipts { lastRead }', 'typing { ttlMs }']) {
        for (const auth of [true, false]) {
          const r = await call(s, { headers: { ...JSON_TYPE, ...(auth ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query: `subscription { ${field} }` }) });
          const what = `${label}, ${field}, ${auth ? 'with' : 'without'} a token`;
          assertGraphQLError(r, 400, 'BAD_REQUEST', what);
          const body = JSON.parse(r.text);
          assert.match(body.errors[0].message, /subscriptions .*WebSocket \(graphql-transport-ws\)/, what);
          assert.equal(body.data, undefined, `${what}: nothing was run`);
        }
      }
      // Over GET Apollo refuses it first, as it does a mutation: 405, a client error too.
      const get = await call(s, { method: 'GET', at: `?query=${encodeURIComponent('subscription { messages { id } }')}`, headers: { ...PREFLIGHT, authorization: `Bearer ${token}` } });
      assertGraphQLError(get, 405, 'BAD_REQUEST', `${label}, GET`);
    }
    // A query and a mutation still run on the same server.
    const ok = await call(logged, { headers: JSON_TYPE, body: '{"query":"{ __typename }"}' });
    assert.deepEqual(JSON.parse(ok.text), { data: { __typename: 'Query' } });
  } finally {
    await app.stop();
    await cleanupEnv(env);
  }
  assert.ok(lines.some((l) => l.level === 30), 'the log was captured (startup lines at info)');
  const errors = lines.filter((l) => l.level >= 50);
  assert.deepEqual(errors, [], 'no error-level log line');
});
