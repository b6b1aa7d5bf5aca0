import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../support/harness';

/** A GraphQL POST from a page on `origin` (no Origin header when undefined). */
function post(s: TestServer, origin?: string): Promise<Response> {
  return fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

/** The browser's preflight for a JSON POST with an Authorization header. */
function preflight(s: TestServer, origin: string): Promise<Response> {
  return fetch(s.url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
  });
}

/** Opens a WebSocket upgrade with this Origin: 'open', or the refusing status. */
function upgrade(s: TestServer, origin?: string): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

// Fetch Standard §3.2.5 (CORS protocol): a response readable by a page on another origin names that
// origin in Access-Control-Allow-Origin; without it the browser withholds the answer.
describe('CORS_ORIGINS: an explicit allowlist', () => {
  let s: TestServer;
  const allowed = 'https://app.example.com';
  before(async () => {
    s = await startServer({ CORS_ORIGINS: `${allowed}, https://admin.example.com` });
  });
  after(() => s.close());

  test('over HTTP an allowed origin gets Access-Control-Allow-Origin, another origin does not', async () => {
    const ok = await post(s, allowed);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), allowed);
    assert.match(ok.headers.get('vary') ?? '', /origin/i, 'caches keep answers per origin');
    const other = await post(s, 'https://evil.example.com');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal((await post(s)).status, 200, 'a client without Origin (not a browser) is served');
  });

  test('the preflight admits only listed origins', async () => {
    const ok = await preflight(s, 'https://admin.example.com');
    assert.ok(ok.status < 300);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://admin.example.com');
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    const other = await preflight(s, 'https://evil.example.com');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  // RFC 6455 §4.2.2 / §10.2: the server checks a browser upgrade's Origin and refuses with an HTTP error.
  test('a WebSocket upgrade from another origin is refused 403; listed, same-origin and Origin-less ones open', async () => {
    assert.equal(await upgrade(s, 'https://evil.example.com'), 403);
    assert.equal(await upgrade(s, allowed), 'open');
    assert.equal(await upgrade(s), 'open', 'Node, Electron main process: no Origin');
    assert.equal(await upgrade(s, `http://127.0.0.1:${s.app.port()}`), 'open', 'a page served by this very server');
  });
});

describe('CORS without CORS_ORIGINS outside production: localhost origins only', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('a localhost page is allowed over HTTP and on the socket, any other origin is not', async () => {
    assert.equal((await post(s, 'http://localhost:3000')).headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.equal((await post(s, 'https://evil.example.com')).headers.get('access-control-allow-origin'), null);
    assert.equal(await upgrade(s, 'http://localhost:3000'), 'open');
    assert.equal(await upgrade(s, 'https://evil.example.com'), 403);
  });
});
