import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { errorCode, gql, loginUser, ok, openDb, registerUser, startServer, type GqlResult, type TestServer, type TestUser } from '../support/harness';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const uniq = (p: string) => `${p}${randomBytes(3).toString('hex')}`;

const ME = '{ me { id account name avatar email role { name } } }';
const USER = 'query($id: ID!) { user(id: $id) { id account name avatar email } }';
const LOGIN = 'mutation($a: String!, $p: String!, $d: String) { login(account: $a, password: $p, deviceId: $d) { accessToken refreshToken deviceId user { id } } }';
const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken deviceId accessTokenExpiresAt user { id } } }';
const DELETE = 'mutation($id: ID!) { deleteUser(id: $id) }';
const SET_ROLE = 'mutation($u: ID!, $r: String!) { setUserRole(userId: $u, role: $r) { id role { name } } }';

/** The first error, asserting there is one with a message and a code. */
function firstError(r: GqlResult): { message: string; code: string } {
  assert.ok(r.errors?.length, `expected an error, got ${JSON.stringify(r.data)}`);
  const e = r.errors[0];
  assert.ok(typeof e.message === 'string' && e.message.length > 0, 'every error has a message');
  assert.ok(typeof e.extensions?.code === 'string' && e.extensions.code.length > 0, `every error has extensions.code: ${JSON.stringify(e)}`);
  return { message: e.message, code: e.extensions.code };
}

async function exists(id: string, viewer: TestUser): Promise<boolean> {
  return (await ok(s.url, USER, { id }, viewer.token)).user !== null;
}

describe('register and login', () => {
  test('register returns a working session for a new user with role "user"; the name defaults to the account', async () => {
    const account = uniq('Reg_');
    const t0 = Date.now();
    const d = await ok(
      s.url,
      'mutation($a: String!) { register(account: $a, password: "password123") { accessToken refreshToken accessTokenExpiresAt deviceId user { id account name role { name } } } }',
      { a: account },
    );
    const r = d.register;
    assert.equal(r.user.account, account);
    assert.equal(r.user.name, account);
    assert.equal(r.user.role.name, 'user');
    assert.match(r.user.id, /^[1-9]\d*$/, 'ids are numeric strings');
    // ACCESS_TOKEN_TTL defaults to 900 s.
    const exp = Date.parse(r.accessTokenExpiresAt);
    assert.ok(exp >= t0 + 899_000 - 1000 && exp <= Date.now() + 900_000, `expiry ${r.accessTokenExpiresAt}`);
    assert.equal((await ok(s.url, ME, {}, r.accessToken)).me.id, r.user.id);
    assert.ok(!JSON.stringify(d).includes('$argon2'), 'no password hash in the response');
  });

  test('register keeps a given name exactly as given (the server never trims what it stores)', async () => {
    const d = await ok(s.url, 'mutation($a: String!) { register(account: $a, password: "password123", name: "  Zoë K  ") { accessToken user { name } } }', { a: uniq('named_') });
    assert.equal(d.register.user.name, '  Zoë K  ');
    assert.equal((await ok(s.url, '{ me { name } }', {}, d.register.accessToken)).me.name, '  Zoë K  ');
  });

  // OWASP Authentication Cheat Sheet ("Authentication and Error Messages"): respond the same way
  // for an unknown account and a wrong password, so accounts cannot be enumerated.
  test('login: unknown account and wrong password give the same code AND the same message', async () => {
    const u = await registerUser(s.url);
    const wrong = firstError(await gql(s.url, LOGIN, { a: u.account, p: 'password124' }));
    const unknown = firstError(await gql(s.url, LOGIN, { a: uniq('nobody_'), p: 'password123' }));
    assert.equal(wrong.code, 'UNAUTHENTICATED');
    assert.deepEqual(unknown, wrong);
    // Control: the right password works, and accounts are matched case-insensitively.
    const d = await ok(s.url, LOGIN, { a: u.account.toUpperCase(), p: 'password123' });
    assert.equal(d.login.user.id, u.id);
  });

  test('deviceId is returned as given, and generated (a UUID, new per login) when absent', async () => {
    const u = await registerUser(s.url, undefined, 'tablet-7');
    assert.equal(u.deviceId, 'tablet-7');
    assert.equal((await loginUser(s.url, u.account, 'phone:01_A.b-c')).deviceId, 'phone:01_A.b-c');
    const a = await loginUser(s.url, u.account);
    const b = await loginUser(s.url, u.account);
    assert.match(a.deviceId, UUID);
    assert.match(b.deviceId, UUID);
    assert.notEqual(a.deviceId, b.deviceId);
    const r = await registerUser(s.url);
    assert.match(r.deviceId, UUID);
  });
});

describe('sessions', () => {
  // RFC 9700 (OAuth 2.0 Security BCP) §4.14.2: refresh token rotation; when an already used refresh
  // token is presented again, the server cannot tell attacker from client and revokes the whole grant.
  test('refreshSession rotates: the new refresh token works once, the old one is refused', async () => {
    const u = await registerUser(s.url, undefined, 'dev-rot');
    const r1 = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    assert.notEqual(r1.refreshToken, u.refreshToken);
    assert.notEqual(r1.accessToken, u.token);
    assert.equal(r1.deviceId, 'dev-rot', 'the device stays');
    assert.equal(r1.user.id, u.id);
    assert.equal((await ok(s.url, ME, {}, r1.accessToken)).me.id, u.id);
    const r2 = (await ok(s.url, REFRESH, { r: r1.refreshToken })).refreshSession;
    assert.equal((await ok(s.url, ME, {}, r2.accessToken)).me.id, u.id);
    // The first token was replaced two rotations ago, outside any reuse interval: a replay.
    assert.equal(firstError(await gql(s.url, REFRESH, { r: u.refreshToken })).code, 'UNAUTHENTICATED');
  });

  test('a reused refresh token revokes the whole session: the newest refresh and access tokens fail too', async () => {
    const u = await registerUser(s.url);
    const other = await loginUser(s.url, u.account, 'other-device');
    const once = (await ok(s.url, REFRESH, { r: u.refreshToken })).refreshSession;
    const rotated = (await ok(s.url, REFRESH, { r: once.refreshToken })).refreshSession;
    // A token two rotations old (e.g. stolen and replayed); the one-rotation reuse interval is in sessions.test.ts.
    assert.equal(firstError(await gql(s.url, REFRESH, { r: u.refreshToken })).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, REFRESH, { r: rotated.refreshToken })).code, 'UNAUTHENTICATED', 'the new refresh token is revoked with the session');
    assert.equal(firstError(await gql(s.url, ME, {}, rotated.accessToken)).code, 'UNAUTHENTICATED', "the session's access token is revoked");
    // Another device's session is untouched.
    assert.equal((await ok(s.url, ME, {}, other.token)).me.id, u.id);
    assert.ok((await ok(s.url, REFRESH, { r: other.refreshToken })).refreshSession.accessToken);
  });

  test('malformed refresh tokens are UNAUTHENTICATED', async () => {
    const u = await registerUser(s.url);
    const [sid] = u.refreshToken.split('.');
    for (const r of ['', 'garbage', '.', `${sid}.`, `${sid}.AAAA`, `00000000-0000-4000-8000-000000000000.${u.refreshToken.split('.')[1]}`]) {
      assert.equal(firstError(await gql(s.url, REFRESH, { r })).code, 'UNAUTHENTICATED', JSON.stringify(r));
    }
  });

  test('logout: the old access token is refused afterwards, and so is its refresh token', async () => {
    const u = await registerUser(s.url);
    assert.equal((await ok(s.url, ME, {}, u.token)).me.id, u.id);
    assert.deepEqual(await ok(s.url, 'mutation { logout }', {}, u.token), { logout: true });
    assert.equal(firstError(await gql(s.url, ME, {}, u.token)).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, 'mutation { logout }', {}, u.token)).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, REFRESH, { r: u.refreshToken })).code, 'UNAUTHENTICATED');
  });

  test('no token, or a garbage token: UNAUTHENTICATED (not an internal error)', async () => {
    assert.equal(firstError(await gql(s.url, ME)).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, 'mutation { logout }')).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, ME, {}, 'not.a.token')).code, 'UNAUTHENTICATED');
  });
});

describe('profiles and users', () => {
  test('updateProfile changes only the caller; another user is unchanged', async () => {
    const a = await registerUser(s.url);
    const b = await registerUser(s.url);
    const beforeB = (await ok(s.url, USER, { id: b.id }, a.token)).user;
    const d = await ok(
      s.url,
      'mutation($i: ProfileInput!) { updateProfile(input: $i) { id name avatar email } }',
      { i: { name: 'New Name', avatar: 'https://cdn.example.com/a.png', email: 'a@example.com' } },
      a.token,
    );
    assert.deepEqual(d.updateProfile, { id: a.id, name: 'New Name', avatar: 'https://cdn.example.com/a.png', email: 'a@example.com' });
    // Another user sees the new profile; the email stays private (the user and userGet holders only).
    assert.deepEqual((await ok(s.url, USER, { id: a.id }, b.token)).user, { id: a.id, account: a.account, name: 'New Name', avatar: 'https://cdn.example.com/a.png', email: null });
    assert.equal((await ok(s.url, USER, { id: a.id }, a.token)).user.email, 'a@example.com');
    assert.deepEqual((await ok(s.url, USER, { id: b.id }, a.token)).user, beforeB);
    // ProfileInput has no id: there is no way to aim the update at someone else.
    const r = await gql(s.url, `mutation { updateProfile(input: { id: "${b.id}", name: "hijack" }) { id } }`, {}, a.token);
    assert.equal(firstError(r).code, 'GRAPHQL_VALIDATION_FAILED');
    assert.deepEqual((await ok(s.url, USER, { id: b.id }, a.token)).user, beforeB);
  });

  test('updateProfile leaves absent fields alone and clears a field given as null', async () => {
    const a = await registerUser(s.url);
    const m = 'mutation($i: ProfileInput!) { updateProfile(input: $i) { name avatar email } }';
    await ok(s.url, m, { i: { email: 'x@example.com', avatar: 'https://x.example/p.png' } }, a.token);
    assert.deepEqual((await ok(s.url, m, { i: { name: 'Only name' } }, a.token)).updateProfile, { name: 'Only name', avatar: 'https://x.example/p.png', email: 'x@example.com' });
    assert.deepEqual((await ok(s.url, m, { i: { email: null } }, a.token)).updateProfile, { name: 'Only name', avatar: 'https://x.example/p.png', email: null });
  });

  // OWASP ASVS V2.4 / Password Storage: verifiers are stored server-side only; never returned by an API.
  test('password hashes never leave the server: no field of any output type mentions "password"', async () => {
    const d = await ok(s.url, '{ user: __type(name: "User") { fields { name } } session: __type(name: "Session") { fields { name } } __schema { types { name kind fields { name } } } }');
    const userFields = d.user.fields.map((f: { name: string }) => f.name);
    assert.ok(userFields.includes('account') && userFields.includes('email'), 'the introspection really lists User fields');
    for (const f of userFields) assert.ok(!/password|hash/i.test(f), `User.${f}`);
    for (const t of d.__schema.types) {
      for (const f of t.fields ?? []) assert.ok(!/password/i.test(f.name), `${t.name}.${f.name}`);
    }
    const u = await registerUser(s.url);
    const all = await gql(s.url, '{ me { id account name avatar email createdAt online role { name permissions { name } } } }', {}, u.token);
    assert.ok(!JSON.stringify(all).includes('$argon2'));
  });

  test('users(search) finds by account prefix and by name prefix, capped by first, never deleted users', async () => {
    const viewer = await registerUser(s.url);
    const p = uniq('srch').toLowerCase();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await registerUser(s.url, `${p}_acc${i}`)).id);
    const named = await ok(s.url, 'mutation($a: String!, $n: String!) { register(account: $a, password: "password123", name: $n) { user { id } } }', {
      a: uniq('other_'),
      n: `${p} Display`,
    });
    const byAcc = (await ok(s.url, 'query($q: String!) { users(search: $q) { id account } }', { q: `${p}_acc` }, viewer.token)).users;
    assert.deepEqual(byAcc.map((u: { id: string }) => u.id).sort(), [...ids].sort());
    // Account prefix is case-insensitive.
    const upper = (await ok(s.url, 'query($q: String!) { users(search: $q) { id } }', { q: `${p}_ACC` }, viewer.token)).users;
    assert.equal(upper.length, 3);
    const byName = (await ok(s.url, 'query($q: String!) { users(search: $q) { id name } }', { q: `${p} Disp` }, viewer.token)).users;
    assert.deepEqual(byName.map((u: { id: string }) => u.id), [named.register.user.id]);
    // Prefix, not substring: the middle of an account does not match.
    assert.deepEqual((await ok(s.url, 'query($q: String!) { users(search: $q) { id } }', { q: `acc0` }, viewer.token)).users.filter((u: { id: string }) => ids.includes(u.id)), []);
    const capped = (await ok(s.url, 'query($q: String!) { users(search: $q, first: 2) { id } }', { q: p }, viewer.token)).users;
    assert.equal(capped.length, 2);
    const all = (await ok(s.url, 'query($q: String!) { users(search: $q, first: 10) { id } }', { q: p }, viewer.token)).users;
    assert.equal(all.length, 4);
    // A page size outside 1..50 is refused, not quietly changed.
    for (const first of [-5, 0, 51]) {
      assert.equal(firstError(await gql(s.url, 'query($q: String!, $f: Int) { users(search: $q, first: $f) { id } }', { q: p, f: first }, viewer.token)).code, 'BAD_USER_INPUT', String(first));
    }
    // LIKE wildcards in the search are literal.
    assert.deepEqual((await ok(s.url, 'query { users(search: "%") { id } }', {}, viewer.token)).users, []);
    assert.deepEqual((await ok(s.url, 'query { users(search: "_") { id } }', {}, viewer.token)).users, []);
    // A deleted user is not found.
    const gone = await loginUser(s.url, `${p}_acc0`);
    await ok(s.url, DELETE, { id: gone.id }, gone.token);
    const after = (await ok(s.url, 'query($q: String!) { users(search: $q) { id } }', { q: `${p}_acc` }, viewer.token)).users;
    assert.deepEqual(after.map((u: { id: string }) => u.id).sort(), ids.slice(1).sort());
  });
});

describe('deleting users and roles', () => {
  // Contract: deleteUser "Requires the permission userDel (or is the caller's own account)".
  // OWASP ASVS V4.1.3 (least privilege) and V4.2.1 (no IDOR): a plain user cannot act on another.
  test('deleteUser of another user without userDel is FORBIDDEN and the target still exists', async () => {
    const a = await registerUser(s.url);
    const b = await registerUser(s.url);
    assert.equal(firstError(await gql(s.url, DELETE, { id: b.id }, a.token)).code, 'FORBIDDEN');
    assert.equal(await exists(b.id, a), true);
    assert.equal((await ok(s.url, ME, {}, b.token)).me.id, b.id, "the target's session still works");
  });

  test('deleteUser of self works and revokes every session; login is refused afterwards', async () => {
    const a = await registerUser(s.url);
    const second = await loginUser(s.url, a.account, 'second-device');
    const viewer = await registerUser(s.url);
    assert.deepEqual(await ok(s.url, DELETE, { id: a.id }, a.token), { deleteUser: true });
    assert.equal(firstError(await gql(s.url, ME, {}, a.token)).code, 'UNAUTHENTICATED');
    assert.equal(firstError(await gql(s.url, ME, {}, second.token)).code, 'UNAUTHENTICATED', 'the other device is logged out too');
    assert.equal(firstError(await gql(s.url, REFRESH, { r: second.refreshToken })).code, 'UNAUTHENTICATED');
    const login = firstError(await gql(s.url, LOGIN, { a: a.account, p: 'password123' }));
    assert.equal(login.code, 'UNAUTHENTICATED');
    // Same answer as for an account that never existed.
    assert.deepEqual(login, firstError(await gql(s.url, LOGIN, { a: uniq('never_'), p: 'password123' })));
    assert.equal(await exists(a.id, viewer), false);
  });

  // ASVS V4.1.2 / V3.3: authorization is decided on every request from the current role (read from the
  // database per request: src/schema/auth-checker.ts), never from claims frozen into the access token.
  test('a role change counts at once for an existing token: promoted can delete and set roles, demoted is FORBIDDEN again', async () => {
    const a = await registerUser(s.url);
    const b = await registerUser(s.url);
    const c = await registerUser(s.url);
    assert.equal(firstError(await gql(s.url, DELETE, { id: b.id }, a.token)).code, 'FORBIDDEN');
    assert.equal(firstError(await gql(s.url, SET_ROLE, { u: c.id, r: 'admin' }, a.token)).code, 'FORBIDDEN');

    // The first admin is made outside the API (what `npm run admin` does).
    const conn = await openDb(s);
    try {
      const res = await conn.query("UPDATE user SET role_id = (SELECT id FROM role WHERE name = 'admin') WHERE id = ?", [a.id]);
      assert.equal(res.affectedRows, 1);
    } finally {
      await conn.end();
    }

    // The same access token, no new login.
    const me = await ok(s.url, '{ me { role { name permissions { name } } } }', {}, a.token);
    assert.equal(me.me.role.name, 'admin');
    assert.deepEqual(me.me.role.permissions.map((p: { name: string }) => p.name).sort(), ['roleSet', 'userDel', 'userGet']);
    assert.deepEqual(await ok(s.url, DELETE, { id: b.id }, a.token), { deleteUser: true });
    assert.equal(await exists(b.id, c), false);
    assert.equal(firstError(await gql(s.url, ME, {}, b.token)).code, 'UNAUTHENTICATED', "the deleted user's sessions are revoked");
    const set = await ok(s.url, SET_ROLE, { u: c.id, r: 'admin' }, a.token);
    assert.deepEqual(set.setUserRole, { id: c.id, role: { name: 'admin' } });
    assert.equal((await ok(s.url, ME, {}, c.token)).me.role.name, 'admin', "c's existing token sees the new role");
    assert.equal(firstError(await gql(s.url, SET_ROLE, { u: c.id, r: 'emperor' }, a.token)).code, 'BAD_USER_INPUT');

    // c (now an admin) demotes a; a's unchanged token loses the permissions at once.
    assert.deepEqual((await ok(s.url, SET_ROLE, { u: a.id, r: 'user' }, c.token)).setUserRole, { id: a.id, role: { name: 'user' } });
    const d = await registerUser(s.url);
    assert.equal(firstError(await gql(s.url, DELETE, { id: d.id }, a.token)).code, 'FORBIDDEN');
    assert.equal(firstError(await gql(s.url, SET_ROLE, { u: c.id, r: 'user' }, a.token)).code, 'FORBIDDEN');
    assert.equal(await exists(d.id, a), true);
    assert.equal((await ok(s.url, ME, {}, c.token)).me.role.name, 'admin', 'the refused setUserRole changed nothing');
    // Demoting oneself takes effect at once as well.
    await ok(s.url, SET_ROLE, { u: c.id, r: 'user' }, c.token);
    assert.equal(firstError(await gql(s.url, SET_ROLE, { u: c.id, r: 'admin' }, c.token)).code, 'FORBIDDEN');
  });
});

describe('bad input', () => {
  const REGISTER = 'mutation($a: String!, $p: String!, $n: String, $d: String) { register(account: $a, password: $p, name: $n, deviceId: $d) { deviceId } }';
  const PROFILE = 'mutation($i: ProfileInput!) { updateProfile(input: $i) { id } }';
  let u: TestUser;
  before(async () => {
    u = await registerUser(s.url);
  });

  type Case = { name: string; query: string; variables?: Record<string, unknown>; auth?: boolean; codes: string[] };
  const cases: Case[] = [
    { name: 'String literal where Int is expected', query: '{ users(search: "a", first: "ten") { id } }', auth: true, codes: ['GRAPHQL_VALIDATION_FAILED'] },
    { name: 'String variable where Int is expected', query: 'query($f: Int) { users(search: "a", first: $f) { id } }', variables: { f: 'ten' }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'Int literal where String is expected', query: '{ users(search: 5) { id } }', auth: true, codes: ['GRAPHQL_VALIDATION_FAILED'] },
    { name: 'missing required argument', query: 'mutation { register(account: "abcdef") { deviceId } }', codes: ['GRAPHQL_VALIDATION_FAILED'] },
    { name: 'unknown field', query: '{ me { passwordHash } }', auth: true, codes: ['GRAPHQL_VALIDATION_FAILED'] },
    { name: 'object variable for a String', query: REGISTER, variables: { a: { x: 1 }, p: 'password123' }, codes: ['BAD_USER_INPUT'] },
    { name: 'non-numeric id for user(id:)', query: '{ user(id: "abc") { id } }', auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'negative id for user(id:)', query: '{ user(id: "-1") { id } }', auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'zero id for user(id:)', query: '{ user(id: "0") { id } }', auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'id beyond 64 bits for user(id:)', query: '{ user(id: "18446744073709551616") { id } }', auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'exponent id for deleteUser(id:)', query: 'mutation { deleteUser(id: "1e3") }', auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'account of 2 characters', query: REGISTER, variables: { a: 'ab', p: 'password123' }, codes: ['BAD_USER_INPUT'] },
    { name: 'account of 65 characters', query: REGISTER, variables: { a: 'a'.repeat(65), p: 'password123' }, codes: ['BAD_USER_INPUT'] },
    { name: 'account with a space', query: REGISTER, variables: { a: 'has space', p: 'password123' }, codes: ['BAD_USER_INPUT'] },
    { name: 'password of 7 characters', query: REGISTER, variables: { a: uniq('pw7_'), p: 'x'.repeat(7) }, codes: ['BAD_USER_INPUT'] },
    { name: 'password of 257 characters', query: REGISTER, variables: { a: uniq('pw257_'), p: 'x'.repeat(257) }, codes: ['BAD_USER_INPUT'] },
    { name: 'register name of 65 characters', query: REGISTER, variables: { a: uniq('nm_'), p: 'password123', n: 'n'.repeat(65) }, codes: ['BAD_USER_INPUT'] },
    { name: 'deviceId with a space', query: REGISTER, variables: { a: uniq('dv_'), p: 'password123', d: 'my phone' }, codes: ['BAD_USER_INPUT'] },
    { name: 'deviceId of 65 characters', query: REGISTER, variables: { a: uniq('dv_'), p: 'password123', d: 'd'.repeat(65) }, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile name of 65 characters', query: PROFILE, variables: { i: { name: 'n'.repeat(65) } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile empty name', query: PROFILE, variables: { i: { name: '' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile blank name', query: PROFILE, variables: { i: { name: '   ' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile bad email', query: PROFILE, variables: { i: { email: 'not-an-email' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile email without domain', query: PROFILE, variables: { i: { email: 'a@' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile bad avatar', query: PROFILE, variables: { i: { avatar: 'not a url' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile javascript: avatar', query: PROFILE, variables: { i: { avatar: 'javascript:alert(1)' } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile avatar over 1024 characters', query: PROFILE, variables: { i: { avatar: `https://x.example/${'a'.repeat(1024)}` } }, auth: true, codes: ['BAD_USER_INPUT'] },
    { name: 'updateProfile unknown input field', query: PROFILE, variables: { i: { role: 'admin' } }, auth: true, codes: ['BAD_USER_INPUT'] },
  ];

  for (const c of cases) {
    test(`bad input: ${c.name} -> ${c.codes.join(' or ')}`, async () => {
      const r = await gql(s.url, c.query, c.variables, c.auth ? u.token : undefined);
      const e = firstError(r);
      assert.ok(c.codes.includes(e.code), `got ${e.code}: ${e.message}`);
      for (const other of r.errors ?? []) {
        assert.ok(other.message, 'every error has a message');
        assert.ok(other.extensions?.code, 'every error has a code');
      }
    });
  }

  // Ids are the tables' signed BIGINT: 2^63-1 is the largest (src/schema/ids.ts).
  test('ids: 2^63-1 is an id nobody has; 2^63 up to 2^64-1 and beyond are BAD_USER_INPUT "out of the id range" everywhere', async () => {
    assert.deepEqual(await ok(s.url, USER, { id: '9223372036854775807' }, u.token), { user: null });
    const takers: Array<[string, string, (id: string) => Record<string, unknown>]> = [
      ['user', USER, (id) => ({ id })],
      ['sendMessage to a user', 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', (id) => ({ i: { to: { userId: id }, clientMsgId: uniq('id'), type: 'TEXT', content: 'x' } })],
      ['history of a group', 'query($g: ID!) { history(with: { groupId: $g }) { hasMore } }', (g) => ({ g })],
      ['sendFriendRequest', 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', (userId) => ({ u: userId })],
    ];
    for (const id of ['9223372036854775808', '18446744073709551615', '18446744073709551616']) {
      for (const [name, query, vars] of takers) {
        const e = firstError(await gql(s.url, query, vars(id), u.token));
        assert.equal(e.code, 'BAD_USER_INPUT', `${name}(${id}): ${e.message}`);
        assert.match(e.message, /out of the id range/, `${name}(${id})`);
      }
    }
  });

  test('an argument validation error says what is wrong and never echoes the arguments (the password) back', async () => {
    const secret = 'Sh0rt!x';
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: REGISTER, variables: { a: 'ab', p: secret } }),
    });
    const text = await res.text();
    const r = JSON.parse(text) as GqlResult;
    const e = firstError(r);
    assert.equal(e.code, 'BAD_USER_INPUT');
    assert.match(e.message, /account must be 3 to 64 characters/);
    assert.match(e.message, /password must be at least 8 characters/);
    assert.ok(!text.includes(secret), `the password came back in the response: ${text.slice(0, 300)}`);
    assert.deepEqual(r.errors?.[0].extensions?.problems, ['account must be 3 to 64 characters', 'password must be at least 8 characters']);
    const p = await gql(s.url, PROFILE, { i: { email: 'nope' } }, u.token);
    assert.match(firstError(p).message, /email must be an email address/);
  });

  test('bad input stores nothing: the refused accounts cannot log in, the profile is unchanged', async () => {
    assert.equal(await errorCode(s.url, LOGIN, { a: 'ab', p: 'password123' }), 'UNAUTHENTICATED');
    // A 65-character account is bad input at login too; a prefix search for its first 64 characters finds nothing.
    assert.deepEqual((await ok(s.url, 'query($q: String!) { users(search: $q) { id } }', { q: 'a'.repeat(64) }, u.token)).users, []);
    const me = (await ok(s.url, ME, {}, u.token)).me;
    assert.equal(me.name, u.account);
    assert.equal(me.email, null);
    assert.equal(me.avatar, null);
  });

  test('the boundaries themselves are accepted: account 3 and 64, password 8, name 64', async () => {
    await ok(s.url, REGISTER, { a: uniq('').slice(0, 3), p: 'x'.repeat(8) });
    await ok(s.url, REGISTER, { a: `b${randomBytes(32).toString('hex').slice(0, 63)}`, p: 'password123', n: 'n'.repeat(64) });
    await ok(s.url, PROFILE, { i: { name: 'm'.repeat(64), email: 'ok@example.com', avatar: 'https://x.example/a.png' } }, u.token);
    await ok(s.url, PROFILE, { i: { name: u.account, email: null, avatar: null } }, u.token);
  });
});
