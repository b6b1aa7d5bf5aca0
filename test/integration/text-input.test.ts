import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { device, makeFriends, MESSAGE_FIELDS, syncAll, waitOnline } from '../support/chat';
import { clusterOnly, gql, loginUser, ok, registerUser, startServer, type TestServer, type TestUser, queryDb } from '../support/harness';
import { friendsOf, notes } from './social.helpers';

// Every text a client sends is either refused with BAD_USER_INPUT or returned
// exactly as sent by every later read: the receipt, the push (served from the
// node's message cache), history, sync, profiles, groups, friends and
// notifications. MariaDB stored a lone surrogate as "?", refused (as an
// internal error) names that class-validator had counted short, and compared
// keys by its collation ('Phone' = 'phone', 'zoe' = 'zoë').

let s: TestServer;
before(async () => {
  s = await startServer({ ACK_TIMEOUT_MS: '800' });
});
after(async () => {
  await s?.close();
});

const rows = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDb<T>(s, sql, params);
const messageCount = async () => Number((await rows<{ n: number }>('SELECT COUNT(*) AS n FROM message'))[0].n);

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${MESSAGE_FIELDS} } }`;
const HISTORY = `query($w: ConversationInput!) { history(with: $w, limit: 200) { messages { ${MESSAGE_FIELDS} } } }`;
let n = 0;
const input = (to: { userId?: string; groupId?: string }, content: string, ext?: string | null) => ({ i: { to, clientMsgId: `t-${++n}`, type: 'TEXT', content, ext } });
const codeOf = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

/** Texts MariaDB's utf8mb4 stores exactly, and the server must keep exactly (no trim, no normalization). */
const KEPT = [
  '😀 a 4-byte emoji',
  '❤️ heart and variation selector',
  'e\u0301 decomposed, not normalized',
  '👨‍👩‍👧 a ZWJ sequence',
  '  leading and trailing spaces  ',
  'tab\tand\nlines\r\n',
  'edges \u{10FFFF} \uFFFF \u{1F3FB}',
  'مرحبا \u202e reversed',
  'line\u2028separator',
];
/** Texts that cannot be stored as sent (lone surrogates) or are control characters. */
const UNSTORABLE = ['x\uD800y', 'x\uDC00y', '\uD83D', 'a\u0000b', 'a\u0007b', 'a\u007fb', 'a\u0085b'];
const BLANK = [' ', ' \n\t ', '\u3000', '\u200b', '\u00a0\u200d'];

/** One sync page of a device, not acknowledged (a device without a socket cannot acknowledge one). */
async function syncRead(u: TestUser): Promise<Array<{ id: string; content: string; ext: string | null }>> {
  return (await ok(s.url, `{ sync(limit: 500) { messages { ${MESSAGE_FIELDS} } } }`, {}, u.token)).sync.messages;
}

async function pair(): Promise<[TestUser, TestUser]> {
  const a = await registerUser(s.url);
  const b = await registerUser(s.url);
  await makeFriends(s.url, a, b);
  return [a, b];
}

test('content and ext: the receipt, the push, both sides\' history and sync all return exactly what was sent', async () => {
  const [a, b] = await pair();
  const online = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  await syncAll(s.url, b);
  // A second device of b without a socket: its sync reads everything sent from now on.
  const b2 = await loginUser(s.url, b.account, `other-${randomBytes(3).toString('hex')}`);

  const sent = new Map<string, { content: string; ext: string | null }>();
  for (const [i, text] of KEPT.entries()) {
    const ext = i % 2 ? text : null;
    const r = await ok(s.url, SEND, input({ userId: b.id }, text, ext), a.token);
    assert.equal(r.sendMessage.content, text, 'receipt content');
    assert.equal(r.sendMessage.ext, ext, 'receipt ext');
    sent.set(r.sendMessage.id, { content: text, ext });
  }
  const check = (where: string, list: Array<{ id: string; content: string; ext: string | null }>) => {
    const mine = list.filter((m) => sent.has(m.id));
    assert.equal(mine.length, sent.size, `${where}: every message`);
    for (const m of mine) assert.deepEqual({ content: m.content, ext: m.ext }, sent.get(m.id), `${where}: message ${m.id}`);
  };
  check('push', (await online.sub.waitFor(sent.size)).map((v) => v.messages as any));
  check('sender history', (await ok(s.url, HISTORY, { w: { userId: b.id } }, a.token)).history.messages);
  check('receiver history', (await ok(s.url, HISTORY, { w: { userId: a.id } }, b.token)).history.messages);
  check('sync', await syncRead(b2));
  await online.client.dispose();
});

test('content or ext that cannot be stored as sent, and blank content, are refused with BAD_USER_INPUT and store nothing', async () => {
  const [a, b] = await pair();
  await ok(s.url, SEND, input({ userId: b.id }, 'opening'), a.token);
  const before = await messageCount();
  for (const bad of UNSTORABLE) {
    assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, bad), a.token)), 'BAD_USER_INPUT', `content ${JSON.stringify(bad)}`);
    assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, 'fine', bad), a.token)), 'BAD_USER_INPUT', `ext ${JSON.stringify(bad)}`);
  }
  for (const blank of BLANK) {
    assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, blank), a.token)), 'BAD_USER_INPUT', `content ${JSON.stringify(blank)}`);
  }
  assert.equal(await messageCount(), before, 'nothing stored');
  const r = await gql(s.url, SEND, input({ userId: b.id }, 'x\uD800y'), a.token);
  assert.match(r.errors![0].message, /content .*surrogate/);
});

test('length limits count characters as MariaDB does: emoji at the limit round-trip, one more is refused', async () => {
  const [a, b] = await pair();
  const content = '😀'.repeat(4096);
  const ext = '🎉'.repeat(1024);
  const r = await ok(s.url, SEND, input({ userId: b.id }, content, ext), a.token);
  assert.equal(r.sendMessage.content, content);
  const [stored] = (await ok(s.url, HISTORY, { w: { userId: a.id } }, b.token)).history.messages;
  assert.equal(stored.content, content, 'not truncated by the column');
  assert.equal(stored.ext, ext);
  // Heart + variation selector is two characters to MariaDB: 2048 of them are exactly the limit.
  assert.equal((await ok(s.url, SEND, input({ userId: b.id }, '❤️'.repeat(2048)), a.token)).sendMessage.content, '❤️'.repeat(2048));
  assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, '😀'.repeat(4097)), a.token)), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, 'x', '😀'.repeat(1025)), a.token)), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(s.url, SEND, input({ userId: b.id }, '❤️'.repeat(2049)), a.token)), 'BAD_USER_INPUT');
});

const PROFILE = 'mutation($n: String) { updateProfile(input: { name: $n }) { name } }';
const USER = 'query($id: ID!) { user(id: $id) { name } }';

test('user names are stored as given (never trimmed) and read back the same everywhere, or refused', async () => {
  const [a, b] = await pair();
  const name = `  Zoë ${randomBytes(2).toString('hex')} e\u0301 😀  `;
  assert.equal((await ok(s.url, PROFILE, { n: name }, a.token)).updateProfile.name, name);
  assert.equal((await ok(s.url, '{ me { name } }', {}, a.token)).me.name, name);
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user.name, name);
  const friends = (await ok(s.url, '{ friends { user { id name } } }', {}, b.token)).friends;
  assert.equal(friends.find((f: { user: { id: string } }) => f.user.id === a.id)?.user.name, name);

  // 64 emoji are 64 characters; 64 hearts are 128, too long for the column: refused, not an internal error.
  const emoji = '😀'.repeat(64);
  assert.equal((await ok(s.url, PROFILE, { n: emoji }, a.token)).updateProfile.name, emoji);
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user.name, emoji);
  for (const bad of ['❤️'.repeat(64), ...UNSTORABLE, 'two\nlines', ...BLANK]) {
    assert.equal(codeOf(await gql(s.url, PROFILE, { n: bad }, a.token)), 'BAD_USER_INPUT', `name ${JSON.stringify(bad)}`);
  }
  assert.equal((await ok(s.url, USER, { id: a.id }, b.token)).user.name, emoji, 'unchanged by the refusals');

  const reg = 'mutation($a: String!, $n: String) { register(account: $a, password: "password123", name: $n) { accessToken user { name } } }';
  const r = await ok(s.url, reg, { a: `n${randomBytes(4).toString('hex')}`, n: ' given ' });
  assert.equal(r.register.user.name, ' given ');
  assert.equal((await ok(s.url, '{ me { name } }', {}, r.register.accessToken)).me.name, ' given ');
  assert.equal(codeOf(await gql(s.url, reg, { a: `n${randomBytes(4).toString('hex')}`, n: 'x\uD800' })), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(s.url, reg, { a: `n${randomBytes(4).toString('hex')}`, n: '   ' })), 'BAD_USER_INPUT');
});

test('group names and remarks are stored as given and read back the same, or refused', async () => {
  const [a, b] = await pair();
  const c = await registerUser(s.url);
  const CREATE = 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, memberIds: $m) { id name } }';
  const name = ' team 🎉 e\u0301 ';
  const g = (await ok(s.url, CREATE, { n: name, m: [b.id] }, a.token)).createGroup;
  assert.equal(g.name, name);
  assert.equal((await ok(s.url, 'query($id: ID!) { group(id: $id) { name } }', { id: g.id }, b.token)).group.name, name);
  assert.equal((await ok(s.url, '{ groups { id name } }', {}, b.token)).groups.find((x: { id: string }) => x.id === g.id).name, name);
  for (const bad of ['x\uD800', 'a\u0000', '   ', '😀'.repeat(65)]) {
    assert.equal(codeOf(await gql(s.url, CREATE, { n: bad, m: [b.id] }, a.token)), 'BAD_USER_INPUT', `group name ${JSON.stringify(bad)}`);
  }

  const REQUEST = 'mutation($u: ID!, $r: String) { sendFriendRequest(userId: $u, remark: $r) { id remark } }';
  for (const bad of ['x\uDC00', 'a\u0000', '   ']) {
    assert.equal(codeOf(await gql(s.url, REQUEST, { u: c.id, r: bad }, a.token)), 'BAD_USER_INPUT', `request remark ${JSON.stringify(bad)}`);
  }
  const remark = ' hi, it\'s a 👋 ';
  assert.equal((await ok(s.url, REQUEST, { u: c.id, r: remark }, a.token)).sendFriendRequest.remark, remark);
  assert.equal((await notes(s.url, c)).find((x) => x.sender.id === a.id)?.remark, remark);

  const UPDATE = 'mutation($u: ID!, $r: String) { updateFriend(userId: $u, remark: $r) { remark } }';
  for (const bad of ['x\uD800', '\t', ' ', '❤️'.repeat(33)]) {
    assert.equal(codeOf(await gql(s.url, UPDATE, { u: b.id, r: bad }, a.token)), 'BAD_USER_INPUT', `friend remark ${JSON.stringify(bad)}`);
  }
  const alias = ' Bobby 🎉 ';
  assert.equal((await ok(s.url, UPDATE, { u: b.id, r: alias }, a.token)).updateFriend.remark, alias);
  assert.equal((await friendsOf(s.url, a)).find((f) => f.user.id === b.id)?.remark, alias);
});

const REGISTER = 'mutation($a: String!, $p: String!) { register(account: $a, password: $p) { user { id account } } }';
const LOGIN = 'mutation($a: String!, $p: String!) { login(account: $a, password: $p) { user { id account } } }';

test('accounts: case variants are one account; accents and other letters make another; what the key stores decides, not the collation', async () => {
  const tag = randomBytes(3).toString('hex');
  const zoe = (await ok(s.url, REGISTER, { a: `zoe_${tag}`, p: 'password123' })).register.user;
  assert.equal(codeOf(await gql(s.url, REGISTER, { a: `ZOE_${tag}`, p: 'password123' })), 'CONFLICT');
  assert.equal((await ok(s.url, LOGIN, { a: `Zoe_${tag.toUpperCase()}`, p: 'password123' })).login.user.id, zoe.id);
  // Under utf8mb4_unicode_ci 'zoë' = 'zoe': it was refused as taken, and its login opened zoe's account.
  const zoeUmlaut = (await ok(s.url, REGISTER, { a: `zoë_${tag}`, p: 'password456' })).register.user;
  assert.notEqual(zoeUmlaut.id, zoe.id);
  assert.equal(zoeUmlaut.account, `zoë_${tag}`);
  assert.equal((await ok(s.url, LOGIN, { a: `zoë_${tag}`, p: 'password456' })).login.user.id, zoeUmlaut.id);
  assert.equal(codeOf(await gql(s.url, LOGIN, { a: `zoë_${tag}`, p: 'password123' })), 'UNAUTHENTICATED');
  // The decomposed spelling is the same account (the key is NFC).
  assert.equal((await ok(s.url, LOGIN, { a: `zoe\u0308_${tag}`, p: 'password456' })).login.user.id, zoeUmlaut.id);
  // Under the collation every emoji and every letter beyond the BMP was the same character.
  const math = (await ok(s.url, REGISTER, { a: `𝒜_${tag}`, p: 'password123' })).register.user;
  const other = (await ok(s.url, REGISTER, { a: `𝒞_${tag}`, p: 'password123' })).register.user;
  assert.notEqual(math.id, other.id);

  // A password is text too: a lone surrogate would be hashed as U+FFFD, so any other lone one matched it.
  assert.equal(codeOf(await gql(s.url, REGISTER, { a: `pw_${tag}`, p: 'password\uD800' })), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(s.url, REGISTER, { a: `pw_${tag}`, p: 'pass\u0000word' })), 'BAD_USER_INPUT');
  assert.equal(codeOf(await gql(s.url, LOGIN, { a: `zoe_${tag}`, p: 'password\uDBFF' })), 'BAD_USER_INPUT');
});

test('search strings are text too: a lone surrogate, a control character or over 64 characters is refused', async () => {
  const u = await registerUser(s.url);
  const SEARCH = 'query($q: String!) { users(search: $q) { id } }';
  for (const bad of ['x\uD800', 'a\u0000', 'a'.repeat(65)]) {
    assert.equal(codeOf(await gql(s.url, SEARCH, { q: bad }, u.token)), 'BAD_USER_INPUT', `search ${JSON.stringify(bad)}`);
  }
  assert.deepEqual((await ok(s.url, SEARCH, { q: u.account.toUpperCase() }, u.token)).users, [{ id: u.id }], 'the account prefix search ignores case');
});

test('device ids that differ only in case are two devices with a cursor each', async () => {
  const tag = randomBytes(3).toString('hex');
  const a = await registerUser(s.url);
  const b = await registerUser(s.url, undefined, `Phone-${tag}`);
  await makeFriends(s.url, a, b);
  const lower = await loginUser(s.url, b.account, `phone-${tag}`);
  const online = device(s.url, s.wsUrl, b);
  await waitOnline(s.url, b);
  const m = await ok(s.url, SEND, input({ userId: b.id }, 'for both devices'), a.token);
  // The first device catches up and acknowledges; the second has acknowledged nothing.
  assert.ok((await syncAll(s.url, b)).some((x) => x.id === m.sendMessage.id));
  await online.client.dispose();
  assert.ok((await syncRead(lower)).some((x) => x.id === m.sendMessage.id), 'the other device still gets the message');
});

test('every text column is utf8mb4, and the text keys compare byte for byte', clusterOnly('MariaDB character sets and collations; SQLite compares text byte for byte (BINARY) unless told otherwise'), async () => {
  const cols = await rows<{ t: string; c: string; cs: string; co: string }>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS co FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND CHARACTER_SET_NAME IS NOT NULL AND TABLE_NAME <> 'mikro_orm_migrations'`,
    [s.dbName],
  );
  assert.ok(cols.length > 10);
  assert.deepEqual(cols.filter((x) => x.cs !== 'utf8mb4'), []);
  const key = (t: string, c: string) => cols.find((x) => x.t === t && x.c === c)?.co;
  for (const [t, c] of [['user', 'account_key'], ['message', 'client_msg_id'], ['device_cursor', 'device_id'], ['session', 'device_id']]) {
    assert.equal(key(t, c), 'utf8mb4_nopad_bin', `${t}.${c}`);
  }
});
