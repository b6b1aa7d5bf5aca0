import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGroup, makeFriends } from '../support/chat';
import { collect, errorCode, gql, ok, registerUser, sleep, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';

// Typing notices go where a message from the same sender could go, are stored
// nowhere, and are rate limited per user (RL_TYPING, here 3 a minute).

let s: TestServer;
before(async () => {
  s = await startServer({ RL_TYPING: '3/60' });
});
after(async () => {
  await s?.close();
});

const TYPING = 'subscription { typing { user { id } groupId ttlMs } }';
const SEND_TYPING = 'mutation($u: ID, $g: ID) { sendTyping(with: { userId: $u, groupId: $g }) }';

async function listen(u: TestUser) {
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
  const sub = collect(client, TYPING);
  await sleep(300); // the subscription is live once graphql-ws has run it
  return { sub, close: () => client.dispose() };
}

test('to a friend: she gets who types and for how long; to a stranger: the answer a send would get, nothing pushed', async () => {
  const [alice, bob, eve] = await Promise.all([registerUser(s.url), registerUser(s.url), registerUser(s.url)]);
  await makeFriends(s.url, alice, bob);
  const b = await listen(bob);
  try {
    assert.deepEqual(await ok(s.url, SEND_TYPING, { u: bob.id }, alice.token), { sendTyping: true });
    await b.sub.waitFor(1);
    assert.deepEqual(b.sub.values[0], { typing: { user: { id: alice.id }, groupId: null, ttlMs: 6000 } });
    const sendCode = await errorCode(s.url, 'mutation($u: ID!) { sendMessage(input: { to: { userId: $u }, clientMsgId: "t1", type: TEXT, content: "x" }) { id } }', { u: bob.id }, eve.token);
    assert.equal(await errorCode(s.url, SEND_TYPING, { u: bob.id }, eve.token), sendCode, 'a stranger gets what her send would get');
    const selfSend = await errorCode(s.url, 'mutation($u: ID!) { sendMessage(input: { to: { userId: $u }, clientMsgId: "t2", type: TEXT, content: "x" }) { id } }', { u: alice.id }, alice.token);
    assert.equal(await errorCode(s.url, SEND_TYPING, { u: alice.id }, alice.token), selfSend, 'to oneself, as a send to oneself');
    await sleep(200);
    assert.equal(b.sub.values.length, 1, 'nothing reached bob from the stranger');
  } finally {
    await b.close();
  }
});

test('in a group: every other member now gets it, the typer does not; a non-member is refused', async () => {
  const [owner, m1, m2, outsider] = await Promise.all([registerUser(s.url), registerUser(s.url), registerUser(s.url), registerUser(s.url)]);
  await makeFriends(s.url, owner, m1);
  await makeFriends(s.url, owner, m2);
  const g = await createGroup(s.url, owner, [m1, m2]);
  const [lo, l1, l2] = await Promise.all([listen(owner), listen(m1), listen(m2)]);
  try {
    await ok(s.url, SEND_TYPING, { g }, m1.token);
    await lo.sub.waitFor(1);
    await l2.sub.waitFor(1);
    assert.deepEqual(lo.sub.values[0], { typing: { user: { id: m1.id }, groupId: g, ttlMs: 6000 } });
    assert.deepEqual(l2.sub.values[0], lo.sub.values[0]);
    assert.notEqual(await errorCode(s.url, SEND_TYPING, { g }, outsider.token), undefined);
    await sleep(200);
    assert.equal(l1.sub.values.length, 0, 'not to the typer herself');
    assert.equal(lo.sub.values.length, 1, 'nothing from the outsider');
  } finally {
    await Promise.all([lo.close(), l1.close(), l2.close()]);
  }
});

test('RL_TYPING: N notices a minute, then RATE_LIMITED with retryAfterMs; both ids or none is BAD_USER_INPUT', async () => {
  const [alice, bob] = await Promise.all([registerUser(s.url), registerUser(s.url)]);
  await makeFriends(s.url, alice, bob);
  for (let i = 0; i < 3; i++) await ok(s.url, SEND_TYPING, { u: bob.id }, alice.token);
  const r = await gql(s.url, SEND_TYPING, { u: bob.id }, alice.token);
  assert.equal(r.errors?.[0].extensions?.code, 'RATE_LIMITED');
  assert.ok((r.errors![0].extensions!.retryAfterMs as number) > 0);
  assert.equal(await errorCode(s.url, SEND_TYPING, {}, bob.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, SEND_TYPING, { u: alice.id, g: '1' }, bob.token), 'BAD_USER_INPUT');
});
