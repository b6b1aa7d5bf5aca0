import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, registerUser, startServer, wsClient, type GqlResult, type TestServer, type TestUser } from '../support/harness';

/**
 * Operation limits (src/schema/limits.ts, graphql-armor + graphql's parser maxTokens),
 * the same on HTTP and on the socket. Each limit gets its own server with only that
 * limit made small, so an operation at a boundary trips nothing else.
 *
 * How graphql-armor counts (found by experiment, see the "found N" numbers below):
 * - depth: a field is one level deeper than its parent; `{ me { id } }` is 2.
 *   Fragments (named and inline) add no level (flattenFragments). `__schema` is ignored.
 * - aliases: every alias anywhere in the operation, except on `__typename`.
 * - cost: a scalar costs 1, an object 2 + 1.5 x the cost of its selections, all times
 *   a literal `first:`/`last:` argument; top-level fields are summed.
 *   `{ me { id } }` = 3.5, `{ users(first: 8) { id } }` = 8 x 3.5 = 28.
 * - directives: every directive use, in fragments too.
 * - tokens: graphql's lexer tokens (punctuators, names, values), not counting <EOF>,
 *   comments, commas or whitespace. `{ __typename }` is 3.
 * A limit N accepts N and refuses N + 1.
 */

type Outcome = { kind: 'next'; result: GqlResult } | { kind: 'error'; errors: GqlResult['errors'] };

/** Runs a query operation on a graphql-ws client; limit and validation failures arrive at the sink's error callback. */
function viaSocket(client: Client, query: string, variables?: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer on the socket for ${query.slice(0, 80)}`)), 10_000);
    client.subscribe(
      { query, variables },
      {
        next: (result) => {
          clearTimeout(timer);
          resolve({ kind: 'next', result: result as GqlResult });
        },
        error: (errors) => {
          clearTimeout(timer);
          if (Array.isArray(errors)) resolve({ kind: 'error', errors });
          else reject(errors);
        },
        complete: () => undefined,
      },
    );
  });
}

const REFUSALS = ['LIMIT_EXCEEDED', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'];

interface Probe {
  name: string;
  query: string;
  /** Accepted: the data to expect (checked with a predicate). Refused: the exact message. */
  accepted?: (data: any) => void;
  refused?: string | RegExp;
}

interface LimitServer {
  s: TestServer;
  user: TestUser;
  client: Client & { closed: Promise<{ code: number; reason: string }> };
  socketClosed: () => boolean;
}

async function limitServer(env: Record<string, string>): Promise<LimitServer> {
  const s = await startServer(env);
  const user = await registerUser(s.url);
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${user.token}` });
  let closed = false;
  void client.closed.then(() => (closed = true));
  return { s, user, client, socketClosed: () => closed };
}

function runProbes(title: string, env: Record<string, string>, probes: Probe[]): void {
  describe(title, () => {
    let ls: LimitServer;
    before(async () => {
      ls = await limitServer(env);
    });
    after(async () => {
      await ls?.client.dispose();
      await ls?.s.close();
    });

    for (const p of probes) {
      test(`HTTP: ${p.name}`, async () => {
        const r = await gql(ls.s.url, p.query, undefined, ls.user.token);
        if (p.accepted) {
          for (const e of r.errors ?? []) assert.ok(!REFUSALS.includes(String(e.extensions?.code)), `refused: ${e.message}`);
          assert.equal(r.errors, undefined, JSON.stringify(r.errors));
          p.accepted(r.data);
        } else {
          assert.ok(r.errors?.length, `accepted: ${JSON.stringify(r.data)}`);
          assert.equal(r.data, undefined, 'a refused operation does not run');
          const e = r.errors[0];
          assert.equal(e.extensions?.code, 'LIMIT_EXCEEDED', e.message);
          if (typeof p.refused === 'string') assert.equal(e.message, p.refused);
          else assert.match(e.message, p.refused!);
        }
      });
      test(`socket: ${p.name}`, async () => {
        const o = await viaSocket(ls.client, p.query);
        if (p.accepted) {
          assert.equal(o.kind, 'next', JSON.stringify(o));
          const r = (o as { result: GqlResult }).result;
          for (const e of r.errors ?? []) assert.ok(!REFUSALS.includes(String(e.extensions?.code)), `refused: ${e.message}`);
          assert.equal(r.errors, undefined, JSON.stringify(r.errors));
          p.accepted(r.data);
        } else {
          assert.equal(o.kind, 'error', `accepted: ${JSON.stringify(o)}`);
          const e = (o as { errors: NonNullable<GqlResult['errors']> }).errors[0];
          assert.equal(e.extensions?.code, 'LIMIT_EXCEEDED', e.message);
          if (typeof p.refused === 'string') assert.equal(e.message, p.refused);
          else assert.match(e.message, p.refused!);
        }
        assert.equal(ls.socketClosed(), false, 'a refused operation does not close the socket');
      });
    }
  });
}

const typeChain = (depth: number) => `{ __type(name: "User") { ${'ofType { '.repeat(depth - 2)}name${' }'.repeat(depth - 1)} }`;
const typenames = (n: number) => `{ ${'__typename '.repeat(n)}}`;
const isQueryTypenames = (d: any) => assert.deepEqual(d, { __typename: 'Query' });

// LIMIT_DEPTH=4: 4 levels accepted, 5 refused.
runProbes('depth limit 4', { LIMIT_DEPTH: '4' }, [
  {
    name: 'me.role.permissions.name is depth 4: accepted',
    query: '{ me { role { permissions { name } } } }',
    accepted: (d) => assert.equal(d.me.role.permissions.length, 0),
  },
  { name: '__type + 2 x ofType + name is depth 4: accepted', query: typeChain(4), accepted: (d) => assert.deepEqual(d, { __type: { ofType: null } }) },
  {
    name: 'a named fragment adds no level (depth 4): accepted',
    query: '{ me { ...R } } fragment R on User { role { permissions { name } } }',
    accepted: (d) => assert.ok(Array.isArray(d.me.role.permissions)),
  },
  {
    name: 'an inline fragment adds no level (depth 4): accepted',
    query: '{ me { ... on User { role { ... on Role { permissions { name } } } } } }',
    accepted: (d) => assert.ok(Array.isArray(d.me.role.permissions)),
  },
  { name: 'depth 5: refused', query: typeChain(5), refused: 'Query depth limit of 4 exceeded, found 5.' },
  {
    name: 'depth 5 hidden in a fragment: refused',
    query: '{ __type(name: "User") { ...T } } fragment T on __Type { ofType { ofType { ofType { name } } } }',
    refused: 'Query depth limit of 4 exceeded, found 5.',
  },
  { name: 'depth 7: refused', query: typeChain(7), refused: 'Query depth limit of 4 exceeded, found 7.' },
]);

// LIMIT_ALIASES=2: 2 aliases accepted, 3 refused; aliases of __typename are free.
runProbes('aliases limit 2', { LIMIT_ALIASES: '2' }, [
  {
    name: '2 aliases: accepted',
    query: '{ a: me { id } b: me { id } }',
    accepted: (d) => assert.equal(d.a.id, d.b.id),
  },
  {
    name: '2 aliases plus 3 aliased __typename (allow-listed): accepted',
    query: '{ a: me { id } b: me { id } t1: __typename t2: __typename t3: __typename }',
    accepted: (d) => assert.equal(d.t3, 'Query'),
  },
  { name: '3 aliases: refused', query: '{ a: me { id } b: me { id } c: me { id } }', refused: 'Aliases limit of 2 exceeded, found 3.' },
  { name: '3 aliases, one nested: refused', query: '{ a: me { x: id } b: me { id } }', refused: 'Aliases limit of 2 exceeded, found 3.' },
  {
    name: '3 aliases, one inside a fragment: refused',
    query: '{ a: me { ...F } b: me { id } } fragment F on User { y: id }',
    refused: 'Aliases limit of 2 exceeded, found 3.',
  },
]);

// LIMIT_COST=30: cost 30 accepted, anything above refused.
runProbes('cost limit 30', { LIMIT_COST: '30' }, [
  { name: '30 x __typename costs exactly 30: accepted', query: typenames(30), accepted: isQueryTypenames },
  {
    name: 'users(first: 8) { id } costs 8 x 3.5 = 28: accepted',
    query: '{ users(search: "zz-none", first: 8) { id } }',
    accepted: (d) => assert.deepEqual(d, { users: [] }),
  },
  { name: '31 x __typename costs 31: refused', query: typenames(31), refused: 'Query Cost limit of 30 exceeded, found 31.' },
  {
    name: 'users(first: 9) { id } costs 31.5: refused',
    query: '{ users(search: "zz-none", first: 9) { id } }',
    refused: 'Query Cost limit of 30 exceeded, found 31.5.',
  },
  {
    name: 'nesting multiplies by 1.5 per level: me.role.permissions.name costs 12.875, three of them 38.625: refused',
    query: '{ a: me { role { permissions { name } } } b: me { role { permissions { name } } } c: me { role { permissions { name } } } }',
    refused: 'Query Cost limit of 30 exceeded, found 38.625.',
  },
]);

// LIMIT_TOKENS=40: 40 tokens accepted, 41 refused (by graphql's parser, before validation).
const tokensRefused = /Document contains more th(at|an) 40 tokens/;
runProbes('tokens limit 40', { LIMIT_TOKENS: '40' }, [
  { name: '40 tokens ({ + 38 names + }): accepted', query: typenames(38), accepted: isQueryTypenames },
  {
    name: '40 tokens with comments and commas (not tokens): accepted',
    query: `# ${'a long comment '.repeat(20)}\n{ ${'__typename, '.repeat(38)}} # trailing`,
    accepted: isQueryTypenames,
  },
  { name: '41 tokens: refused', query: typenames(39), refused: tokensRefused },
  { name: 'far over: refused', query: typenames(500), refused: tokensRefused },
]);

// LIMIT_DIRECTIVES=2: 2 directive uses accepted, 3 refused.
runProbes('directives limit 2', { LIMIT_DIRECTIVES: '2' }, [
  {
    name: '2 directives: accepted',
    query: '{ me @include(if: true) { id @skip(if: false) } }',
    accepted: (d) => assert.ok(d.me.id),
  },
  {
    name: '2 directives, on a fragment spread and inside the fragment: accepted',
    query: '{ ...F @include(if: true) } fragment F on Query { __typename @skip(if: false) }',
    accepted: isQueryTypenames,
  },
  {
    name: '3 directives: refused',
    query: '{ me @include(if: true) { id @skip(if: false) name @skip(if: true) } }',
    refused: 'Directives limit of 2 exceeded, found 3.',
  },
  {
    name: '3 directives, one inside a fragment: refused',
    query: '{ ...F @include(if: true) } fragment F on Query { __typename @skip(if: false) __typename @include(if: true) }',
    refused: 'Directives limit of 2 exceeded, found 3.',
  },
]);

describe('HTTP hardening (development server)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ NODE_ENV: 'development' });
  });
  after(async () => {
    await s?.close();
  });

  // OWASP GraphQL Cheat Sheet ("Batching Attacks"): batching multiplies the work of one request and
  // bypasses per-request limits; allowBatchedHttpRequests: false.
  test('batched requests (a JSON array body) are refused and none of them runs', async () => {
    const account = `batch_${Date.now()}`;
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { query: '{ __typename }' },
        { query: `mutation { register(account: "${account}", password: "password123") { deviceId } }` },
      ]),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as GqlResult;
    assert.match(body.errors?.[0].message ?? '', /batching disabled/i);
    assert.equal(body.errors?.[0].extensions?.code, 'BAD_REQUEST');
    // The mutation in the batch did not run: the account does not exist.
    const login = await gql(s.url, `mutation { login(account: "${account}", password: "password123") { deviceId } }`);
    assert.equal(login.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  });

  // Apollo Server csrfPrevention: a request that a browser could send without a CORS preflight
  // (a GET or a "simple" POST without content-type application/json or an apollo-require-preflight /
  // x-apollo-operation-name header) is refused, so a cross-site page cannot run operations.
  test('GET /graphql for a query without a CSRF-preventing header is refused; with one it works', async () => {
    const q = `${s.url}?query=${encodeURIComponent('{ __typename }')}`;
    const plain = await fetch(q);
    assert.equal(plain.status, 400);
    assert.match(((await plain.json()) as GqlResult).errors?.[0].message ?? '', /Cross-Site Request Forgery/);
    const preflighted = await fetch(q, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(preflighted.status, 200);
    assert.deepEqual(await preflighted.json(), { data: { __typename: 'Query' } });
  });

  test('a "simple" POST (content-type text/plain, no preflight) is refused as CSRF', async () => {
    const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Cross-Site Request Forgery/);
  });

  test('a mutation over GET is refused (405) even with the preflight header', async () => {
    const res = await fetch(`${s.url}?query=${encodeURIComponent('mutation { logout }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(res.status, 405);
  });

  test('GET /graphql with accept: text/html is the Sandbox landing page in development', async () => {
    const res = await fetch(s.url, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /embeddable-sandbox/);
    assert.match(html, /EmbeddedSandbox/);
  });

  // RFC 6455 §7.4.1: 1009 = "a message that is too big for it to process" (ws maxPayload = WS_MAX_PAYLOAD).
  test('a socket message over 64 KiB closes the socket with 1009; exactly 64 KiB is accepted', async () => {
    const u = await registerUser(s.url);
    const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws');
    const messages: any[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (m) => {
      messages.push(JSON.parse(String(m)));
      waiters.splice(0).forEach((w) => w());
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    const waitFor = async (pred: (m: any) => boolean) => {
      const deadline = Date.now() + 5000;
      while (!messages.some(pred)) {
        assert.ok(Date.now() < deadline, `timed out; got ${JSON.stringify(messages)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return messages.find(pred);
    };
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${u.token}` } }));
    await waitFor((m) => m.type === 'connection_ack');

    const sized = (id: string, bytes: number) => {
      const base = JSON.stringify({ id, type: 'subscribe', payload: { query: '{ __typename }' } });
      // Whitespace inside the query string is neither a token nor costly: only the size grows.
      const msg = JSON.stringify({ id, type: 'subscribe', payload: { query: `{ __typename }${' '.repeat(bytes - base.length)}` } });
      assert.equal(Buffer.byteLength(msg), bytes);
      return msg;
    };
    ws.send(sized('at-limit', 64 * 1024));
    const next = await waitFor((m) => m.id === 'at-limit' && m.type === 'next');
    assert.deepEqual(next.payload, { data: { __typename: 'Query' } });

    ws.send(sized('over', 64 * 1024 + 1));
    const c = await Promise.race([closed, new Promise<never>((_, j) => setTimeout(() => j(new Error('socket not closed')), 5000))]);
    assert.equal(c.code, 1009);
    assert.ok(!messages.some((m) => m.id === 'over'), 'the oversized operation did not run');
  });
});

// OWASP GraphQL Cheat Sheet ("Introspection"): disable introspection in production; it must be off on
// every transport, not only on HTTP.
describe('introspection in production: off on both transports', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ NODE_ENV: 'production' });
  });
  after(async () => {
    await s?.close();
  });

  test('__schema and __type are refused over HTTP and over the socket; __typename still works', async () => {
    const u = await registerUser(s.url);
    const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
    try {
      for (const q of ['{ __schema { types { name } } }', '{ __type(name: "User") { fields { name } } }']) {
        const http = await gql(s.url, q, undefined, u.token);
        assert.equal(http.data, undefined);
        assert.equal(http.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(http.errors));
        assert.match(http.errors?.[0].message ?? '', /introspection/i);
        const sock = await viaSocket(client, q);
        assert.equal(sock.kind, 'error', `the socket answered ${JSON.stringify(sock).slice(0, 200)}`);
        const e = (sock as { errors: NonNullable<GqlResult['errors']> }).errors[0];
        assert.equal(e.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
        assert.match(e.message, /introspection/i);
      }
      assert.deepEqual((await gql(s.url, '{ __typename }', undefined, u.token)).data, { __typename: 'Query' });
      const ok = await viaSocket(client, '{ __typename }');
      assert.deepEqual(ok.kind === 'next' && ok.result.data, { __typename: 'Query' });
    } finally {
      await client.dispose();
    }
  });

  test('no landing page in production', async () => {
    const res = await fetch(s.url, { headers: { accept: 'text/html' } });
    assert.notEqual(res.status, 200);
    assert.doesNotMatch(await res.text(), /embeddable-sandbox|EmbeddedSandbox/);
  });
});
