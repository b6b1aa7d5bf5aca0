import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD_HASH_PARAMS, hashPassword, verifyPassword } from '../../src/auth/password';

// OWASP Password Storage Cheat Sheet: argon2id with m = 19 MiB (19456 KiB), t = 2, p = 1 is the minimum;
// RFC 9106 §3.1 fixes the encoding parameters m, t, p and version 0x13 (= 19); each hash gets its own random salt.

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` taken apart. */
function parsePhc(phc: string) {
  const m = /^\$([a-z0-9]+)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  assert.ok(m, `not a PHC argon2 string: ${phc}`);
  return { alg: m[1], v: Number(m[2]), m: Number(m[3]), t: Number(m[4]), p: Number(m[5]), salt: m[6], hash: m[7] };
}

test('the stored hash is argon2id v=19 with m=19456 KiB, t=2, p=1 (OWASP minimum)', async () => {
  const phc = parsePhc(await hashPassword('correct horse battery'));
  assert.equal(phc.alg, 'argon2id');
  assert.equal(phc.v, 19);
  assert.equal(phc.m, 19_456);
  assert.equal(phc.t, 2);
  assert.equal(phc.p, 1);
  // At least 128-bit salt and 256-bit output (base64 without padding: 16 bytes -> 22 chars, 32 bytes -> 43 chars).
  assert.ok(Buffer.from(phc.salt, 'base64').length >= 16, `salt ${phc.salt}`);
  assert.ok(Buffer.from(phc.hash, 'base64').length >= 32, `hash ${phc.hash}`);
  assert.equal(PASSWORD_HASH_PARAMS.memoryCost, 19_456);
  assert.equal(PASSWORD_HASH_PARAMS.timeCost, 2);
  assert.equal(PASSWORD_HASH_PARAMS.parallelism, 1);
});

test('verify is true for the password and false for any other', async () => {
  const stored = await hashPassword('password123');
  assert.equal(await verifyPassword(stored, 'password123'), true);
  assert.equal(await verifyPassword(stored, 'password124'), false);
  assert.equal(await verifyPassword(stored, 'Password123'), false);
  assert.equal(await verifyPassword(stored, ''), false);
  assert.equal(await verifyPassword(stored, 'password123 '), false);
});

test('non-ASCII passwords round-trip', async () => {
  const stored = await hashPassword('пароль-密码-🔑');
  assert.equal(await verifyPassword(stored, 'пароль-密码-🔑'), true);
  assert.equal(await verifyPassword(stored, 'пароль-密码-'), false);
});

test('two hashes of one password differ (random salt), and both verify', async () => {
  const a = await hashPassword('same password');
  const b = await hashPassword('same password');
  assert.notEqual(a, b);
  assert.notEqual(parsePhc(a).salt, parsePhc(b).salt);
  assert.equal(await verifyPassword(a, 'same password'), true);
  assert.equal(await verifyPassword(b, 'same password'), true);
});

test('a malformed stored hash verifies false instead of throwing', async () => {
  assert.equal(await verifyPassword('', 'x'), false);
  assert.equal(await verifyPassword('$argon2id$garbage', 'x'), false);
  assert.equal(await verifyPassword('plaintext-password', 'plaintext-password'), false);
});
