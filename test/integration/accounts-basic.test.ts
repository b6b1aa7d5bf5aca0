import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { collect, errorCode, gql, ok, registerUser, startServer, wsClient, type TestServer } from '../support/harness';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

test('register, then me over HTTP and a subscription socket that authenticates', async () => {
  const alice = await registerUser(s.url, 'Alice_basic');
  const me = await ok(s.url, '{ me { id account role { name } } }', {}, alice.token);
  assert.equal(me.me.account, 'Alice_basic');
  assert.equal(me.me.role.name, 'user');
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${alice.token}` });
  const r = await new Promise<any>((resolve, reject) => {
    client.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => undefined });
  });
  assert.equal(r.data.me.id, alice.id);
  await client.dispose();
  void collect;
});

test('the same account in other case is taken (CONFLICT)', async () => {
  await registerUser(s.url, 'CaseUser');
  assert.equal(await errorCode(s.url, 'mutation { register(account: "caseuser", password: "password123") { deviceId } }'), 'CONFLICT');
});

test('a short password is BAD_USER_INPUT and nothing is stored', async () => {
  const r = await gql(s.url, 'mutation { register(account: "shorty", password: "short") { deviceId } }');
  assert.equal(r.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, 'mutation { login(account: "shorty", password: "shortxxxx") { deviceId } }'), 'UNAUTHENTICATED');
});
