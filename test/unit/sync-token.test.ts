import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { type SyncTokenFields, decodeSyncToken, encodeSyncToken } from '../../src/delivery/rules';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const me = { userId: '42', deviceId: 'dev-a' };
const fields: SyncTokenFields = {
  ...me,
  readLastAck: 18446744073709551617n, // above 2^64: bigints must survive as decimal strings
  maxId: 18446744073709551630n,
  version: 7,
  present: true,
  hasMore: false,
  count: 3,
  digest: 'AAAAAAAAAAAAAAAAAAAAAA',
};

/** Signs an arbitrary payload the way encodeSyncToken does, to reach the structural checks. */
function forge(payload: unknown, key = secret): string {
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = createHmac('sha256', key).update(`st1.${p}`).digest().subarray(0, 16).toString('base64url');
  return `st1.${p}.${mac}`;
}

// D13
test('round trip keeps every field', () => {
  const token = encodeSyncToken(fields, secret);
  assert.match(token, /^[A-Za-z0-9_.-]+$/, 'url-safe');
  assert.deepEqual(decodeSyncToken(token, secret, me), fields);
  const other: SyncTokenFields = { ...fields, readLastAck: 0n, maxId: 0n, version: 0, present: false, hasMore: true };
  assert.deepEqual(decodeSyncToken(encodeSyncToken(other, secret), secret, me), other);
});

// D13: a client must not be able to raise maxId or refresh version.
test('a tampered payload is rejected', () => {
  const token = encodeSyncToken(fields, secret);
  const [prefix, payload, mac] = token.split('.');
  const raised = Buffer.from(
    Buffer.from(payload, 'base64url').toString().replace('"v":7', '"v":8'),
  ).toString('base64url');
  assert.notEqual(raised, payload);
  assert.equal(decodeSyncToken(`${prefix}.${raised}.${mac}`, secret, me), null);
  const flipped = payload.slice(0, -2) + (payload.at(-2) === 'A' ? 'B' : 'A') + payload.at(-1);
  assert.equal(decodeSyncToken(`${prefix}.${flipped}.${mac}`, secret, me), null);
  assert.equal(decodeSyncToken(`${prefix}.${payload}.${mac.slice(0, -1)}`, secret, me), null, 'truncated mac');
});

test('a token signed with another secret is rejected', () => {
  const token = encodeSyncToken(fields, Buffer.from('another secret, same length!!!!!'));
  assert.equal(decodeSyncToken(token, secret, me), null);
});

test("another user's or another device's token is rejected", () => {
  const token = encodeSyncToken(fields, secret);
  assert.equal(decodeSyncToken(token, secret, { userId: '43', deviceId: 'dev-a' }), null);
  assert.equal(decodeSyncToken(token, secret, { userId: '42', deviceId: 'dev-b' }), null);
});

test('garbage is rejected', () => {
  for (const junk of ['', 'x', 'st1', 'st1..', 'st1.e30.', 'st2.e30.AAAA', '...', 'st1.a.b.c', 'x'.repeat(5000)]) {
    assert.equal(decodeSyncToken(junk, secret, me), null, JSON.stringify(junk.slice(0, 20)));
  }
  assert.equal(decodeSyncToken(undefined as unknown as string, secret, me), null);
});

test('a validly signed but malformed payload is rejected', () => {
  const good = { u: '42', d: 'dev-a', r: '1', m: '2', v: 1, p: 1, h: 0 };
  assert.notEqual(decodeSyncToken(forge(good), secret, me), null, 'the forge helper matches the encoder');
  for (const bad of [
    { ...good, r: '-1' },
    { ...good, m: '1e3' },
    { ...good, m: 2 },
    { ...good, v: -1 },
    { ...good, v: 1.5 },
    { ...good, p: true },
    { ...good, h: 2 },
    { ...good, u: 42 },
    { ...good, n: -2 },
    { ...good, n: '3' },
    { ...good, b: 7 },
    { ...good, b: 'x'.repeat(65) },
    null,
    [1, 2],
  ]) {
    assert.equal(decodeSyncToken(forge(bad), secret, me), null, JSON.stringify(bad));
  }
  const notJson = Buffer.from('{oops').toString('base64url');
  const mac = createHmac('sha256', secret).update(`st1.${notJson}`).digest().subarray(0, 16).toString('base64url');
  assert.equal(decodeSyncToken(`st1.${notJson}.${mac}`, secret, me), null);
});

// D13e: a token issued before the batch digest decodes, and can never pass a verify.
test('a token without the batch size and digest decodes with count -1', () => {
  const old = decodeSyncToken(forge({ u: '42', d: 'dev-a', r: '1', m: '2', v: 1, p: 0, h: 0 }), secret, me);
  assert.equal(old?.count, -1);
  assert.equal(old?.digest, '');
});

test('an empty secret is refused', () => {
  assert.throws(() => encodeSyncToken(fields, Buffer.alloc(0)));
  assert.equal(decodeSyncToken(encodeSyncToken(fields, secret), Buffer.alloc(0), me), null);
});
