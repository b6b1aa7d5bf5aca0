import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMemoryPubSub } from '../../src/pubsub';
import { buildSchema } from '../../src/schema/build';
import { collect, errorCode, gql, ok, registerUser, sleep, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';
import { fieldsOf, idTakingFields, takesId } from '../support/schema-walk';
import { befriend, db, friendsOf, newGroup, notes, requestFriend, snapshot } from './social.helpers';

/**
 * The second user (B) aims every id-taking operation at the first user's (A)
 * notifications, friendships, groups and members: each attempt is refused with
 * a code and the stored rows stay byte for byte the same. The schema is
 * walked, so a new id-taking field without a case here fails this file.
 */
const COVERED_ELSEWHERE: Record<string, string> = {
  sendMessage: 'privacy test: a stranger, a blocker and an unknown id get one answer; D1 refusals are in the engine tests',
  history: 'privacy test: a conversation the caller is not in reads as an empty one',
  markRead: 'privacy test: markRead of a conversation not the caller\'s is NOT_FOUND as of an unknown one (D15)',
  messageReaders: 'privacy test: readers of a group the caller is not in are NOT_FOUND as of an unknown message (D17)',
  acknowledge: 'delivery: acks only ever move the caller\'s own device cursor',
  acknowledgeSync: 'delivery: sync acks only ever move the caller\'s own device cursor',
  deleteUser: 'accounts: needs the permission userDel or the caller\'s own id',
  user: 'accounts: public profile lookup by id',
  setUserRole: 'accounts: needs the permission roleSet',
  setBlocked: 'blocks.test.ts: only ever changes the caller\'s own setting about a user',
  sendTyping: 'typing.test.ts: a stranger or a non-member gets the answer a send would get, and nothing is pushed',
};

let s: TestServer;
let sql: Awaited<ReturnType<typeof db>>;
/** A owns everything; C (admin) and D (member) are A's friends in A's group; E asked A to be friends; B attacks. */
let A: TestUser, B: TestUser, C: TestUser, D: TestUser, E: TestUser, G: string, requestToA: string, noteOfA: string;

before(async () => {
  s = await startServer();
  sql = await db(s);
  [A, B, C, D, E] = await Promise.all(Array.from({ length: 5 }, () => registerUser(s.url)));
  await befriend(s.url, A, C);
  await befriend(s.url, A, D);
  await befriend(s.url, B, E);
  G = await newGroup(s.url, A, [C, D], 'private');
  await ok(s.url, 'mutation($g: ID!, $u: ID!) { setGroupMemberRole(groupId: $g, userId: $u, role: ADMIN) { role } }', { g: G, u: C.id }, A.token);
  requestToA = await requestFriend(s.url, E, A);
  noteOfA = (await notes(s.url, A, 'INITIAL')).find((n) => n.type === 'FRIEND_ACCEPTED').id;
});
after(async () => {
  await sql?.end();
  await s?.close();
});

/** Runs the attacks and checks that no stored row changed. */
async function unchanged(attacks: () => Promise<void>): Promise<void> {
  const before = await snapshot(sql);
  await attacks();
  assert.equal(await snapshot(sql), before, 'a refused operation changed stored rows');
}
const refused = async (code: string, query: string, vars: Record<string, unknown>, by: TestUser) =>
  assert.equal(await errorCode(s.url, query, vars, by.token), code, `${query} ${JSON.stringify(vars)}`);

const CASES: Record<string, () => Promise<void>> = {
  group: () => unchanged(async () => {
    // Null, as for a group nobody has: the id tells B nothing.
    assert.deepEqual(await ok(s.url, 'query($id: ID!) { group(id: $id) { id } }', { id: G }, B.token), { group: null });
    assert.deepEqual(await ok(s.url, 'query($id: ID!, $a: ID) { group(id: $id) { members(after: $a) { role } } }', { id: G, a: '1' }, B.token), { group: null });
  }),
  notifications: () => unchanged(async () => {
    // `after` is only a cursor: aimed past A's ids it still lists only the caller's own rows.
    const r = await ok(s.url, 'query($a: ID) { notifications(after: $a, first: 200) { id receiver { id } } }', { a: String(BigInt(noteOfA) + 100n) }, B.token);
    assert.ok(r.notifications.every((n: any) => n.receiver.id === B.id));
    assert.ok(!r.notifications.some((n: any) => n.id === noteOfA || n.id === requestToA));
  }),
  sendFriendRequest: async () => {
    // Whom the victim blocked, even after the friendship ended, cannot reach her again: the request is
    // answered as any other (a block is never told) but she never sees it.
    const victim = await registerUser(s.url);
    await befriend(s.url, victim, B);
    await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', { u: B.id }, victim.token);
    await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: B.id }, victim.token);
    const sent = (await ok(s.url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id type status } }', { u: victim.id }, B.token)).sendFriendRequest;
    assert.deepEqual([sent.type, sent.status], ['FRIEND_REQUEST', 'INITIAL']);
    assert.ok(!(await notes(s.url, victim)).some((n) => n.id === sent.id), 'the blocker sees the blocked user\'s request');
    assert.equal((await friendsOf(s.url, victim)).length, 0);
  },
  respondToFriendRequest: () => unchanged(async () => {
    const q = 'mutation($n: ID!, $a: Boolean!) { respondToFriendRequest(notificationId: $n, accept: $a) { id } }';
    await refused('NOT_FOUND', q, { n: requestToA, a: true }, B);
    await refused('NOT_FOUND', q, { n: requestToA, a: false }, B);
    await refused('NOT_FOUND', q, { n: noteOfA, a: true }, B);
    await refused('NOT_FOUND', q, { n: requestToA, a: true }, E); // the requester cannot answer for A
  }),
  removeFriend: () => unchanged(() => refused('NOT_FRIENDS', 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: C.id }, B)),
  updateFriend: () => unchanged(async () => {
    const q = 'mutation($u: ID!) { updateFriend(userId: $u, remark: "mine now", starred: true, blocked: true) { remark } }';
    await refused('NOT_FRIENDS', q, { u: C.id }, B);
    await refused('NOT_FRIENDS', q, { u: A.id }, B);
  }),
  acknowledgeNotifications: async () => {
    const own = await requestFriend(s.url, C, B);
    await unchanged(async () => {
      const q = 'mutation($ids: [ID!]!) { acknowledgeNotifications(ids: $ids) { id } }';
      await refused('NOT_FOUND', q, { ids: [noteOfA] }, B);
      await refused('NOT_FOUND', q, { ids: [own, requestToA] }, B); // B's own stays INITIAL too
    });
  },
  createGroup: () => unchanged(() =>
    refused('NOT_FRIENDS', 'mutation($m: [ID!]!) { createGroup(name: "grab", memberIds: $m) { id } }', { m: [A.id, C.id] }, B)),
  addGroupMembers: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }';
    await refused('NOT_FOUND', q, { g: G, u: [B.id] }, B);
    await refused('NOT_FOUND', q, { g: G, u: [E.id] }, B);
    await refused('FORBIDDEN', q, { g: G, u: [B.id] }, D); // a plain member
  }),
  removeGroupMember: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }';
    await refused('NOT_FOUND', q, { g: G, u: D.id }, B);
    await refused('NOT_FOUND', q, { g: G, u: A.id }, B);
    await refused('FORBIDDEN', q, { g: G, u: C.id }, D);
  }),
  leaveGroup: () => unchanged(() => refused('NOT_FOUND', 'mutation($g: ID!) { leaveGroup(groupId: $g) }', { g: G }, B)),
  dissolveGroup: () => unchanged(async () => {
    await refused('NOT_FOUND', 'mutation($g: ID!) { dissolveGroup(groupId: $g) }', { g: G }, B);
    await refused('FORBIDDEN', 'mutation($g: ID!) { dissolveGroup(groupId: $g) }', { g: G }, C); // an admin
  }),
  setGroupMemberRole: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: ID!, $r: GroupRole!) { setGroupMemberRole(groupId: $g, userId: $u, role: $r) { role } }';
    await refused('NOT_FOUND', q, { g: G, u: D.id, r: 'ADMIN' }, B);
    await refused('NOT_FOUND', q, { g: G, u: B.id, r: 'ADMIN' }, B);
    await refused('FORBIDDEN', q, { g: G, u: D.id, r: 'ADMIN' }, C); // an admin
  }),
};

test('every Query/Mutation field that takes an id has a case here or a reason elsewhere', async () => {
  const fields = await idTakingFields();
  const missing = fields.filter((f) => !(f in CASES) && !(f in COVERED_ELSEWHERE));
  assert.deepEqual(missing, [], `add an authorization case for: ${missing.join(', ')}`);
  const stale = Object.keys(CASES).filter((f) => !fields.includes(f));
  assert.deepEqual(stale, [], `cases for fields that no longer take ids: ${stale.join(', ')}`);
  assert.ok(fields.length >= Object.keys(CASES).length);
});

test('the walk finds ids inside input objects too', async () => {
  const schema = await buildSchema(createMemoryPubSub());
  const fields = schema.getMutationType()!.getFields();
  if (fields.sendMessage) assert.ok(fields.sendMessage.args.some((a) => takesId(a.type)));
  assert.ok(!fields.register.args.some((a) => takesId(a.type)));
});

test('a second user aiming at the first user\'s things is refused and changes nothing', async (t) => {
  for (const [field, attack] of Object.entries(CASES)) await t.test(field, attack);
  // And A still holds everything, unharmed.
  const g = (await ok(s.url, 'query($id: ID!) { group(id: $id) { memberCount owner { id } } }', { id: G }, A.token)).group;
  assert.deepEqual([g.memberCount, g.owner.id], [3, A.id]);
  assert.ok((await notes(s.url, A, 'INITIAL')).some((n) => n.id === requestToA));
});

/**
 * Field visibility (src/schema/visibility.ts): who reads each private User
 * field of a user T; anyone else reads null. The User type is walked, so a
 * new field that is neither public nor listed here fails this file.
 */
const VIEWERS = ['self', 'friend', 'groupMate', 'formerGroupMate', 'stranger', 'admin', 'roleSetter'] as const;
type Viewer = (typeof VIEWERS)[number];
const PUBLIC_USER_FIELDS = ['id', 'account', 'name', 'avatar', 'createdAt', 'deleted'];
const PRIVATE_USER_FIELDS: Record<string, readonly Viewer[]> = {
  email: ['self', 'admin'],
  role: ['self', 'admin', 'roleSetter'],
  online: ['self', 'friend', 'groupMate'],
  lastSeen: ['self', 'friend', 'groupMate'],
};
const USER_SELECTION = [...PUBLIC_USER_FIELDS, 'email', 'role { name }', 'online', 'lastSeen'].join(' ');

test('the walk covers every User field: public, or private with its viewers', async () => {
  const fields = await fieldsOf('User');
  const unknown = fields.filter((f) => !PUBLIC_USER_FIELDS.includes(f) && !(f in PRIVATE_USER_FIELDS));
  assert.deepEqual(unknown, [], `say who may see: ${unknown.join(', ')}`);
  assert.deepEqual(Object.keys(PRIVATE_USER_FIELDS).filter((f) => !fields.includes(f)), []);
});

test('each private User field is visible to its viewers and null to everyone else, on every path a User shows', async (t) => {
  const [T, friend, groupMate, formerGroupMate, stranger, admin, roleSetter, owner] = await Promise.all(
    Array.from({ length: 8 }, () => registerUser(s.url)),
  );
  await ok(s.url, 'mutation { updateProfile(input: { email: "t@example.test", avatar: "https://x.test/t.png" }) { id } }', {}, T.token);
  await befriend(s.url, T, friend);
  for (const u of [T, groupMate, formerGroupMate]) await befriend(s.url, owner, u);
  const group = await newGroup(s.url, owner, [T, groupMate, formerGroupMate], 'visibility');
  await ok(s.url, 'mutation($g: ID!) { leaveGroup(groupId: $g) }', { g: group }, formerGroupMate.token);
  await ok(s.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', { i: { to: { groupId: group }, clientMsgId: 'vis-1', type: 'TEXT', content: 'hello' } }, T.token);
  await sql.query("UPDATE user SET role_id = (SELECT id FROM role WHERE name = 'admin') WHERE id = ?", [admin.id]);
  await sql.query("INSERT INTO role (name) VALUES ('roleSetter')");
  await sql.query(
    "INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM role r, permission p WHERE r.name = 'roleSetter' AND p.name = 'roleSet'",
  );
  await sql.query("UPDATE user SET role_id = (SELECT id FROM role WHERE name = 'roleSetter') WHERE id = ?", [roleSetter.id]);
  // T online: a socket holding the messages subscription.
  const socket = wsClient(s.wsUrl, { authorization: `Bearer ${T.token}` });
  const sub = collect(socket, 'subscription { messages { id } }');
  for (let i = 0; i < 100 && !(await ok(s.url, '{ me { online } }', {}, T.token)).me.online; i++) await sleep(20);
  const viewers: Record<Viewer, TestUser> = { self: T, friend, groupMate, formerGroupMate, stranger, admin, roleSetter };

  /** T as each path shows it to the viewer. */
  async function shown(v: Viewer): Promise<Record<string, any>> {
    const by = viewers[v].token;
    const paths: Record<string, any> = {
      user: (await ok(s.url, `query($id: ID!) { user(id: $id) { ${USER_SELECTION} } }`, { id: T.id }, by)).user,
      users: (await ok(s.url, `query($q: String!) { users(search: $q) { ${USER_SELECTION} } }`, { q: T.account }, by)).users.find((u: any) => u.id === T.id),
    };
    if (v === 'friend') {
      paths.friends = (await ok(s.url, `{ friends { user { ${USER_SELECTION} } } }`, {}, by)).friends.find((f: any) => f.user.id === T.id).user;
    }
    if (v === 'groupMate') {
      const g = (await ok(s.url, `query($id: ID!) { group(id: $id) { members { user { ${USER_SELECTION} } } } }`, { id: group }, by)).group;
      paths.groupMembers = g.members.find((m: any) => m.user.id === T.id).user;
      const h = await ok(s.url, `query($g: ID!) { history(with: { groupId: $g }) { messages { sender { ${USER_SELECTION} } } } }`, { g: group }, by);
      paths.messageSender = h.history.messages[0].sender;
    }
    return paths;
  }

  try {
    for (const v of VIEWERS) {
      await t.test(v, async () => {
        for (const [path, user] of Object.entries(await shown(v))) {
          for (const f of PUBLIC_USER_FIELDS) assert.notEqual(user[f], null, `${v} reads ${f} through ${path}`);
          for (const [field, allowed] of Object.entries(PRIVATE_USER_FIELDS)) {
            const visible = allowed.includes(v);
            assert.equal(user[field] !== null, visible, `${field} of T through ${path} for ${v}: ${visible ? 'visible' : 'null'} expected, got ${JSON.stringify(user[field])}`);
          }
          if (allowed('email', v)) assert.equal(user.email, 't@example.test');
          if (allowed('role', v)) assert.equal(user.role.name, 'user');
          if (allowed('online', v)) assert.equal(user.online, true);
          if (allowed('lastSeen', v)) assert.ok(Math.abs(Date.now() - Date.parse(user.lastSeen)) < 120_000, user.lastSeen);
        }
      });
    }
  } finally {
    sub.dispose();
    await socket.dispose();
  }
});

const allowed = (field: string, v: Viewer) => PRIVATE_USER_FIELDS[field].includes(v);

test('private fields of a list of users are resolved in batches, not once per user', async () => {
  const prefix = `batch${Date.now().toString(36)}`;
  const people = await Promise.all(Array.from({ length: 6 }, (_, i) => registerUser(s.url, `${prefix}_${i}`)));
  const [hub, viewer, ...rest] = people;
  for (const u of [viewer, ...rest]) await befriend(s.url, hub, u);
  await newGroup(s.url, hub, [viewer, ...rest], 'batch');
  const svc = s.app.services as any;
  const counted = [
    [svc.contacts, 'among'],
    [svc.users, 'permissionsOf'],
    [svc.presence, 'connectionsOfMany'],
    [svc.lastSeen, 'ofMany'],
  ] as const;
  const calls: Record<string, number> = {};
  const originals = counted.map(([o, name]) => {
    const orig = o[name];
    calls[name] = 0;
    o[name] = function (this: unknown, ...a: unknown[]) {
      calls[name]++;
      return orig.apply(this, a);
    };
    return () => (o[name] = orig);
  });
  try {
    const r = await gql(s.url, `query($q: String!) { users(search: $q, first: 50) { id ${USER_SELECTION} } }`, { q: prefix }, viewer.token);
    assert.equal(r.errors, undefined);
    const list = r.data!.users;
    assert.equal(list.length, 6);
    // The viewer shares a group with all of them: every presence is shown, the role of none but herself.
    assert.ok(list.every((u: any) => u.online !== null && (u.role === null) === (u.id !== viewer.id)));
    assert.deepEqual(calls, { among: 1, permissionsOf: 1, connectionsOfMany: 1, ofMany: 1 });
  } finally {
    originals.forEach((restore) => restore());
  }
});
