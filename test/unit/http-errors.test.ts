import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { httpFailure } from '../../src/server/format-error';
import { mountFallbacks } from '../../src/server/http-errors';

// The app's last handlers: an error no route answered becomes a GraphQL error
// response (never express's HTML page with its stack trace), and a bug is
// logged with its stack instead.

async function serve(app: express.Express): Promise<{ base: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

test('a route that throws gets 500 INTERNAL_SERVER_ERROR as JSON without its stack, and the log gets the stack', async () => {
  const logged: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push(line) });
  const app = express();
  app.get('/boom', () => {
    throw new Error(`secret detail at ${__filename}`);
  });
  app.get('/later', async () => {
    await new Promise((r) => setImmediate(r));
    throw new Error('rejected later');
  });
  app.get('/down', () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
  });
  mountFallbacks(app, log);
  const s = await serve(app);
  try {
    for (const p of ['/boom', '/later']) {
      const res = await fetch(s.base + p);
      const text = await res.text();
      assert.equal(res.status, 500);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(text), { errors: [{ message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
    assert.ok(logged.some((l) => l.includes('secret detail') && l.includes('"stack"')), 'the bug is logged with its stack');
    const down = await fetch(s.base + '/down');
    assert.equal(down.status, 503);
    assert.equal(((await down.json()) as any).errors[0].extensions.code, 'UNAVAILABLE');
    const missing = await fetch(s.base + '/missing', { method: 'DELETE' });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).errors[0].extensions.code, 'NOT_FOUND');
  } finally {
    await s.close();
  }
});

test('httpFailure: body-parser errors keep their status and get a code; messages echo nothing of the request', () => {
  const tooLarge = httpFailure(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413, limit: 1024 }));
  assert.deepEqual(tooLarge, { status: 413, unexpected: false, body: { errors: [{ message: 'request body too large: the limit is 1024 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] } });
  const parse = httpFailure(Object.assign(new SyntaxError('Unexpected token \'s\', "secret" is not valid JSON'), { type: 'entity.parse.failed', status: 400, body: 'secret' }));
  assert.equal(parse.status, 400);
  assert.equal(parse.body.errors[0].extensions?.code, 'BAD_REQUEST');
  assert.ok(!JSON.stringify(parse).includes('secret'));
  // A 4xx error whose message is not meant for the client (expose false) is not shown.
  const hidden = httpFailure(Object.assign(new Error('internal detail'), { status: 409, expose: false }));
  assert.deepEqual(hidden.body.errors[0], { message: 'bad request', extensions: { code: 'BAD_REQUEST' } });
  assert.equal(httpFailure(undefined).status, 500);
  assert.equal(httpFailure('a string').body.errors[0].extensions?.code, 'INTERNAL_SERVER_ERROR');
});
