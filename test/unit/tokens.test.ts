import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { TokenSigner } from '../../src/auth/tokens';
import { AppError } from '../../src/errors';

// RFC 8725 (JSON Web Token Best Current Practices) §3.1: the verifier pins the algorithm and
// refuses "none" and any algorithm it did not choose; §3.8/§3.9: check the issuer and the claims it needs.
// RFC 7519 §4.1.4: a token at or after its "exp" must not be accepted.
const SECRET = randomBytes(32).toString('hex');
const signer = new TokenSigner(SECRET, 900);
const SUB = { userId: '42', sessionId: randomUUID(), deviceId: 'phone-1' };

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ sub: '42', sid: SUB.sessionId, did: 'phone-1', jti: randomUUID(), iss: 'im-server', iat: now(), exp: now() + 600, ...extra });

/** The token is refused with an AppError UNAUTHENTICATED (never another error type). */
function refused(token: string, why: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    signer.verify(token);
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, `${why}: the token was accepted`);
  assert.ok(thrown instanceof AppError, `${why}: expected an AppError, got ${String(thrown)}`);
  assert.equal(thrown.code, 'UNAUTHENTICATED', why);
  if (message) assert.match(thrown.message, message, why);
}

test('sign then verify returns the same claims; the token is HS256 issued by im-server', () => {
  const before = now();
  const { token, expiresAt } = signer.sign(SUB);
  const c = signer.verify(token);
  assert.equal(c.userId, SUB.userId);
  assert.equal(c.sessionId, SUB.sessionId);
  assert.equal(c.deviceId, SUB.deviceId);
  assert.match(c.tokenId, /^[0-9a-f-]{36}$/);
  assert.equal(c.exp * 1000, expiresAt.getTime());
  assert.ok(c.exp >= before + 900 && c.exp <= now() + 900, 'exp is now + ttl');
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
  assert.equal(header.alg, 'HS256');
  const payload = jwt.decode(token) as jwt.JwtPayload;
  assert.equal(payload.iss, 'im-server');
  // Every token has its own id, so two tokens for one session differ.
  assert.notEqual(signer.verify(signer.sign(SUB).token).tokenId, c.tokenId);
});

test('a token crafted by hand with the same claims verifies (the control for the refusals below)', () => {
  const token = jwt.sign(claims(), SECRET, { algorithm: 'HS256' });
  assert.equal(signer.verify(token).userId, '42');
});

test('refused: alg "none" (unsigned), with or without a signature part', () => {
  const body = b64(claims());
  refused(`${b64({ alg: 'none', typ: 'JWT' })}.${body}.`, 'alg none, empty signature');
  refused(`${b64({ alg: 'none' })}.${body}.`, 'alg none, no typ');
  refused(`${b64({ alg: 'NONE', typ: 'JWT' })}.${body}.`, 'alg NONE');
  // alg none carrying a real HS256 signature is still not HS256.
  const real = jwt.sign(claims(), SECRET, { algorithm: 'HS256' }).split('.')[2];
  refused(`${b64({ alg: 'none', typ: 'JWT' })}.${body}.${real}`, 'alg none with a signature');
});

test('refused: another HMAC algorithm with the same secret (HS384, HS512)', () => {
  for (const algorithm of ['HS384', 'HS512'] as const) {
    refused(jwt.sign(claims(), SECRET, { algorithm }), algorithm, /invalid access token/);
  }
});

test('refused: RS256 and ES256 signed tokens (asymmetric algorithms are not accepted)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  refused(jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256' }), 'RS256');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  refused(jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256' }), 'ES256');
  // The classic confusion: header says HS256 but the "secret" is a public key; ours is not the key.
  const pub = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  refused(jwt.sign(claims(), pub, { algorithm: 'HS256', allowInsecureKeySizes: true } as jwt.SignOptions), 'HS256 keyed with a public key');
});

test('refused: expired (reported as "access token expired")', () => {
  refused(jwt.sign(claims({ iat: now() - 120, exp: now() - 60 }), SECRET, { algorithm: 'HS256' }), 'expired a minute ago', /expired/);
  refused(jwt.sign(claims({ iat: now() - 10, exp: now() - 1 }), SECRET, { algorithm: 'HS256' }), 'expired a second ago', /expired/);
  // A signer whose ttl lies in the past produces tokens that are already expired.
  refused(new TokenSigner(SECRET, -5).sign(SUB).token, 'negative ttl', /expired/);
});

test('refused: tampered payload (signature no longer matches)', () => {
  const { token } = signer.sign(SUB);
  const [h, p, sig] = token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  refused(`${h}.${b64({ ...payload, sub: '1' })}.${sig}`, 'sub changed');
  refused(`${h}.${b64({ ...payload, exp: payload.exp + 86_400 })}.${sig}`, 'exp extended');
  refused(`${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`, 'signature changed');
  refused(`${h}.${p}`, 'signature removed');
  refused('', 'empty string');
  refused('not-a-jwt', 'garbage');
});

test('refused: signed with another secret', () => {
  const other = new TokenSigner(randomBytes(32).toString('hex'), 900);
  refused(other.sign(SUB).token, 'another secret', /invalid access token/);
  refused(jwt.sign(claims(), `${SECRET}x`, { algorithm: 'HS256' }), 'secret with one more character');
});

test('refused: missing or mistyped claims, and another issuer', () => {
  for (const key of ['sub', 'sid', 'did', 'jti', 'exp', 'iss']) {
    const c: Record<string, unknown> = claims();
    delete c[key];
    refused(jwt.sign(c, SECRET, { algorithm: 'HS256' }), `without ${key}`, /invalid access token/);
  }
  refused(jwt.sign(claims({ sid: 7 }), SECRET, { algorithm: 'HS256' }), 'sid is a number');
  refused(jwt.sign(claims({ did: null }), SECRET, { algorithm: 'HS256' }), 'did is null');
  refused(jwt.sign(claims({ iss: 'someone-else' }), SECRET, { algorithm: 'HS256' }), 'another issuer');
  refused(jwt.sign('a string payload', SECRET, { algorithm: 'HS256' }), 'a string payload');
});
