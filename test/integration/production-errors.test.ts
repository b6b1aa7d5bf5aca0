import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import { gql, registerUser, startServer, type TestServer, wsClient } from '../support/harness';

/** One operation over the socket: its errors, whether sent as an error message or in a result. */
function wsErrors(client: Client, query: string, variables?: Record<string, unknown>): Promise<Array<{ message: string; extensions?: any }>> {
  return new Promise((resolve, reject) => {
    let errors: any[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (r) => (errors = [...(r.errors ?? [])]),
        error: (e) => (Array.isArray(e) ? resolve(e) : reject(e)),
        complete: () => resolve(errors),
      },
    );
  });
}

const UNKNOWN_FIELD = '{ mee { id } }';
const MISSPELT_INPUT = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';
const misspelt = { i: { to: { userId: '1' }, clientMsgId: 'c1', type: 'TEXT', contnt: 'hi' } };

/** The errors of both operations, over HTTP and over the socket. */
async function errorsOf(s: TestServer): Promise<Record<string, Array<{ message: string; extensions?: any }>>> {
  const user = await registerUser(s.url);
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${user.token}` });
  try {
    return {
      httpField: (await gql(s.url, UNKNOWN_FIELD, undefined, user.token)).errors ?? [],
      httpInput: (await gql(s.url, MISSPELT_INPUT, misspelt, user.token)).errors ?? [],
      wsField: await wsErrors(client, UNKNOWN_FIELD),
      wsInput: await wsErrors(client, MISSPELT_INPUT, misspelt),
    };
  } finally {
    await client.dispose();
  }
}

// OWASP GraphQL Cheat Sheet: field suggestions disclose the schema when introspection is off.
describe('field suggestions ("Did you mean …")', () => {
  let dev: TestServer;
  let prod: TestServer;
  before(async () => {
    [dev, prod] = await Promise.all([startServer(), startServer({ NODE_ENV: 'production' })]);
  });
  after(() => Promise.all([dev.close(), prod.close()]));

  test('outside production they are given, over HTTP and over the socket', async () => {
    const all = await errorsOf(dev);
    // The socket coerces variables with graphql-jit, whose messages carry no suggestions anyway.
    for (const where of ['httpField', 'httpInput', 'wsField']) {
      assert.ok(all[where].some((e) => /Did you mean/.test(e.message)), `${where}: ${JSON.stringify(all[where])}`);
    }
    assert.ok(all.wsInput.length, 'wsInput: an error');
  });

  test('production gives none, over HTTP and over the socket, and keeps the error and its code', async () => {
    for (const [where, errors] of Object.entries(await errorsOf(prod))) {
      assert.ok(errors.length, `${where}: an error`);
      for (const e of errors) {
        assert.doesNotMatch(e.message, /Did you mean/, `${where}: ${e.message}`);
        assert.ok(e.extensions?.code, `${where}: a code`);
      }
      if (where.endsWith('Field')) assert.match(errors[0].message, /Cannot query field "mee" on type "Query"\.$/);
    }
  });
});
