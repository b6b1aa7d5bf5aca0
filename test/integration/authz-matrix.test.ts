import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getNamedType, type GraphQLInputType, isInputObjectType, isScalarType } from 'graphql';
import { createMemoryPubSub } from '../../src/pubsub';
import { buildSchema } from '../../src/schema/build';
import { errorCode, ok, registerUser, startServer, type TestServer, type TestUser } from '../support/harness';
import { befriend, db, newGroup, notes, requestFriend, snapshot } from './social.helpers';

/**
 * The second user (B) aims every id-taking operation at the first user's (A)
 * notifications, friendships, groups and members: each attempt is refused with
 * a code and the stored rows stay byte for byte the same. The schema is
 * walked, so a new id-taking field without a case here fails this file.
 */
const COVERED_ELSEWHERE: Record<string, string> = {
  sendMessage: 'message engine: D1 refusals (not a friend, blocked, not a member) are in its tests',
  history: 'message engine: history of a conversation the caller is not in',
  markRead: 'message engine: markRead needs upTo in the caller\'s own conversation (D15)',
  messageReaders: 'message engine: readers of a group the caller is not in (D17)',
  acknowledge: 'delivery: acks only ever move the caller\'s own device cursor',
  acknowledgeSync: 'delivery: sync acks only ever move the caller\'s own device cursor',
  deleteUser: 'accounts: needs the permission userDel or the caller\'s own id',
  user: 'accounts: public profile lookup by id',
  setUserRole: 'accounts: needs the permission roleSet',
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
    await refused('FORBIDDEN', 'query($id: ID!) { group(id: $id) { id } }', { id: G }, B);
    await refused('FORBIDDEN', 'query($id: ID!, $a: ID) { group(id: $id) { members(after: $a) { role } } }', { id: G, a: '1' }, B);
  }),
  notifications: () => unchanged(async () => {
    // `after` is only a cursor: aimed past A's ids it still lists only the caller's own rows.
    const r = await ok(s.url, 'query($a: ID) { notifications(after: $a, first: 200) { id receiver { id } } }', { a: String(BigInt(noteOfA) + 100n) }, B.token);
    assert.ok(r.notifications.every((n: any) => n.receiver.id === B.id));
    assert.ok(!r.notifications.some((n: any) => n.id === noteOfA || n.id === requestToA));
  }),
  sendFriendRequest: async () => {
    // Whom A blocked, even after the friendship ended, cannot ask again.
    const victim = await registerUser(s.url);
    await befriend(s.url, victim, B);
    await ok(s.url, 'mutation($u: ID!) { updateFriend(userId: $u, blocked: true) { blocked } }', { u: B.id }, victim.token);
    await ok(s.url, 'mutation($u: ID!) { removeFriend(userId: $u) }', { u: B.id }, victim.token);
    await unchanged(() => refused('BLOCKED', 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: victim.id }, B));
  },
  respondToFriendRequest: () => unchanged(async () => {
    const q = 'mutation($n: ID!, $a: Boolean!) { respondToFriendRequest(notificationId: $n, accept: $a) { id } }';
    await refused('FORBIDDEN', q, { n: requestToA, a: true }, B);
    await refused('FORBIDDEN', q, { n: requestToA, a: false }, B);
    await refused('FORBIDDEN', q, { n: noteOfA, a: true }, B);
    await refused('FORBIDDEN', q, { n: requestToA, a: true }, E); // the requester cannot answer for A
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
      await refused('FORBIDDEN', q, { ids: [noteOfA] }, B);
      await refused('FORBIDDEN', q, { ids: [own, requestToA] }, B); // B's own stays INITIAL too
    });
  },
  createGroup: () => unchanged(() =>
    refused('NOT_FRIENDS', 'mutation($m: [ID!]!) { createGroup(name: "grab", memberIds: $m) { id } }', { m: [A.id, C.id] }, B)),
  addGroupMembers: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }';
    await refused('FORBIDDEN', q, { g: G, u: [B.id] }, B);
    await refused('FORBIDDEN', q, { g: G, u: [E.id] }, B);
    await refused('FORBIDDEN', q, { g: G, u: [B.id] }, D); // a plain member
  }),
  removeGroupMember: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }';
    await refused('FORBIDDEN', q, { g: G, u: D.id }, B);
    await refused('FORBIDDEN', q, { g: G, u: A.id }, B);
    await refused('FORBIDDEN', q, { g: G, u: C.id }, D);
  }),
  leaveGroup: () => unchanged(() => refused('FORBIDDEN', 'mutation($g: ID!) { leaveGroup(groupId: $g) }', { g: G }, B)),
  dissolveGroup: () => unchanged(async () => {
    await refused('FORBIDDEN', 'mutation($g: ID!) { dissolveGroup(groupId: $g) }', { g: G }, B);
    await refused('FORBIDDEN', 'mutation($g: ID!) { dissolveGroup(groupId: $g) }', { g: G }, C); // an admin
  }),
  setGroupMemberRole: () => unchanged(async () => {
    const q = 'mutation($g: ID!, $u: ID!, $r: GroupRole!) { setGroupMemberRole(groupId: $g, userId: $u, role: $r) { role } }';
    await refused('FORBIDDEN', q, { g: G, u: D.id, r: 'ADMIN' }, B);
    await refused('FORBIDDEN', q, { g: G, u: B.id, r: 'ADMIN' }, B);
    await refused('FORBIDDEN', q, { g: G, u: D.id, r: 'ADMIN' }, C); // an admin
  }),
};

function takesId(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (isScalarType(named)) return named.name === 'ID';
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((f) => takesId(f.type, seen));
}

async function idTakingFields(): Promise<string[]> {
  const schema = await buildSchema(createMemoryPubSub());
  const roots = [schema.getQueryType(), schema.getMutationType()];
  return roots.flatMap((root) =>
    Object.values(root?.getFields() ?? {}).filter((f) => f.args.some((a) => takesId(a.type))).map((f) => f.name),
  );
}

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
