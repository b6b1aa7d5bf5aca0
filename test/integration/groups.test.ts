import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode, gql, ok, registerUser, type TestServer, type TestUser } from '../support/harness';
import { GROUP, befriend, listen, newGroup, notes, snapshot, serverWithDb, type Db } from './social.helpers';

let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
}, { GROUP_MAX_SIZE: '5' });

const Q_GROUP = `query($id: ID!) { group(id: $id) { ${GROUP} } }`;
const ADD = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id memberCount } }';
const REMOVE = 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id memberCount } }';
const LEAVE = 'mutation($g: ID!) { leaveGroup(groupId: $g) }';
const DISSOLVE = 'mutation($g: ID!) { dissolveGroup(groupId: $g) }';
const ROLE = 'mutation($g: ID!, $u: ID!, $r: GroupRole!) { setGroupMemberRole(groupId: $g, userId: $u, role: $r) { user { id } role } }';

/** An owner and n users who are all the owner's friends. */
async function crew(n: number): Promise<[TestUser, ...TestUser[]]> {
  const owner = await registerUser(s.url);
  const others: TestUser[] = [];
  for (let i = 0; i < n; i++) {
    const u = await registerUser(s.url);
    await befriend(s.url, owner, u);
    others.push(u);
  }
  return [owner, ...others];
}

const members = async (u: TestUser, g: string) => (await ok(s.url, Q_GROUP, { id: g }, u.token)).group.members as Array<{ user: { id: string }; role: string; lastRead: string | null }>;
const windows = (g: string) => sql.rows('SELECT user_id, role, active, visible_from, visible_to FROM conversation_member WHERE conversation_id = ? ORDER BY user_id', [g]);
/** Plays the message engine: a message arrived, the conversation's last_message_id moves. */
const messageArrives = (g: string, id: number) => sql.rows('UPDATE conversation SET head_seq = head_seq + 1, last_message_id = ? WHERE id = ?', [id, g]);

test('create: conversation row, group, the creator as OWNER, friends as MEMBERs, GROUP_JOINED to each', async () => {
  const [a, b, c] = await crew(2);
  const lb = await listen(s, b);
  try {
    const r = await ok(s.url, `mutation($m: [ID!]!) { createGroup(name: " Team 🚀 ", memberIds: $m, avatar: "https://x.test/a.png") { ${GROUP} } }`, { m: [b.id, c.id, b.id, a.id] }, a.token);
    const g = r.createGroup;
    assert.deepEqual([g.name, g.avatar, g.memberCount, g.owner.id], [' Team 🚀 ', 'https://x.test/a.png', 3, a.id]);
    assert.deepEqual(g.members.map((m: any) => [m.user.id, m.role, m.lastRead]), [[a.id, 'OWNER', null], [b.id, 'MEMBER', null], [c.id, 'MEMBER', null]].sort((x, y) => Number(BigInt(x[0]!) - BigInt(y[0]!))));
    assert.ok(Math.abs(Date.parse(g.members[0].joinedAt) - Date.now()) < 60_000);
    const [conv] = await sql.rows('SELECT kind, direct_key, head_seq, last_message_id FROM conversation WHERE id = ?', [g.id]);
    assert.deepEqual(conv, { kind: 2, direct_key: null, head_seq: 0, last_message_id: null });
    for (const w of await windows(g.id)) assert.deepEqual([w.active, w.visible_from, w.visible_to], [1, '0', null]);
    const [n] = await lb.next(1);
    assert.deepEqual([n.type, n.group.id, n.sender.id], ['GROUP_JOINED', g.id, a.id]);
    assert.deepEqual((await notes(s.url, c, 'INITIAL')).map((x) => x.type), ['GROUP_JOINED']);
    assert.deepEqual((await notes(s.url, a, 'INITIAL')).filter((x) => x.type.startsWith('GROUP')), []);
    for (const u of [a, b, c]) assert.deepEqual((await ok(s.url, '{ groups { id } }', {}, u.token)).groups, [{ id: g.id }]);
  } finally {
    await lb.close();
  }
});

test('create refusals store nothing: a stranger, too many members, a bad name or avatar', async () => {
  const [a, b] = await crew(1);
  const stranger = await registerUser(s.url);
  const before = await snapshot(sql);
  const CREATE = 'mutation($n: String!, $m: [ID!]!, $av: String) { createGroup(name: $n, memberIds: $m, avatar: $av) { id } }';
  assert.equal(await errorCode(s.url, CREATE, { n: 'x', m: [b.id, stranger.id] }, a.token), 'NOT_FRIENDS');
  const big = await Promise.all(Array.from({ length: 5 }, () => registerUser(s.url)));
  assert.equal(await errorCode(s.url, CREATE, { n: 'x', m: big.map((u) => u.id) }, a.token), 'LIMIT_EXCEEDED');
  assert.equal(await errorCode(s.url, CREATE, { n: '', m: [b.id] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, CREATE, { n: '   ', m: [b.id] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, CREATE, { n: 'x'.repeat(65), m: [b.id] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, CREATE, { n: 'x', m: [b.id], av: 'not a url' }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, CREATE, { n: 'x', m: ['1x'] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await snapshot(sql), before);
});

test('roles: owner and admins add friends; admins cannot remove admins; nobody removes the owner', async () => {
  const [a, b, c, d] = await crew(3);
  const g = await newGroup(s.url, a, [b, c]);
  const e = await registerUser(s.url);
  await befriend(s.url, b, e);
  assert.equal(await errorCode(s.url, ADD, { g, u: [d.id] }, b.token), 'FORBIDDEN'); // a plain member
  assert.deepEqual((await ok(s.url, ROLE, { g, u: b.id, r: 'ADMIN' }, a.token)).setGroupMemberRole, { user: { id: b.id }, role: 'ADMIN' });
  assert.equal(await errorCode(s.url, ADD, { g, u: [d.id] }, b.token), 'NOT_FRIENDS'); // d is the owner's friend, not b's
  assert.equal((await ok(s.url, ADD, { g, u: [e.id] }, b.token)).addGroupMembers.memberCount, 4);
  assert.equal(await errorCode(s.url, ADD, { g, u: [e.id] }, a.token), 'CONFLICT');
  await ok(s.url, ROLE, { g, u: c.id, r: 'ADMIN' }, a.token);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, REMOVE, { g, u: c.id }, b.token), 'FORBIDDEN'); // admin vs admin
  assert.equal(await errorCode(s.url, REMOVE, { g, u: a.id }, b.token), 'FORBIDDEN'); // the owner
  assert.equal(await errorCode(s.url, REMOVE, { g, u: a.id }, a.token), 'BAD_USER_INPUT'); // herself: leaveGroup
  assert.equal(await errorCode(s.url, REMOVE, { g, u: d.id }, a.token), 'NOT_FOUND'); // not a member
  assert.equal(await errorCode(s.url, ROLE, { g, u: c.id, r: 'OWNER' }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ROLE, { g, u: e.id, r: 'ADMIN' }, b.token), 'FORBIDDEN'); // only the owner
  assert.equal(await errorCode(s.url, ROLE, { g, u: a.id, r: 'MEMBER' }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ADD, { g, u: [d.id, '0'] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ADD, { g, u: [] }, a.token), 'BAD_USER_INPUT');
  assert.equal(await errorCode(s.url, ADD, { g: '123456789', u: [d.id] }, a.token), 'NOT_FOUND');
  assert.equal(await snapshot(sql), before);
  assert.equal((await ok(s.url, REMOVE, { g, u: e.id }, b.token)).removeGroupMember.memberCount, 3); // admin removes a member
  assert.deepEqual((await notes(s.url, e, 'INITIAL')).map((n) => [n.type, n.sender.id]), [['GROUP_REMOVED', b.id], ['GROUP_JOINED', b.id]]);
  await ok(s.url, ROLE, { g, u: c.id, r: 'MEMBER' }, a.token);
  assert.equal((await members(a, g)).find((m) => m.user.id === c.id)?.role, 'MEMBER');
});

// Removing is done to someone else; leaving is leaveGroup (which also hands ownership over).
test('removeGroupMember on oneself is BAD_USER_INPUT pointing at leaveGroup, for the owner, an admin and a member; nothing changes', async () => {
  const [a, b, c] = await crew(2);
  const g = await newGroup(s.url, a, [b, c]);
  await ok(s.url, ROLE, { g, u: b.id, r: 'ADMIN' }, a.token);
  const before = await snapshot(sql);
  for (const [who, u] of [['owner', a], ['admin', b], ['member', c]] as const) {
    const r = await gql(s.url, REMOVE, { g, u: u.id }, u.token);
    assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${who}: ${JSON.stringify(r.errors)}`);
    assert.match(r.errors![0].message, /leaveGroup/, who);
  }
  assert.equal(await snapshot(sql), before);
  // Someone else's id keeps its own answers: a member may not remove, an admin may not remove an admin.
  assert.equal(await errorCode(s.url, REMOVE, { g, u: b.id }, c.token), 'FORBIDDEN');
  assert.equal(await errorCode(s.url, REMOVE, { g, u: a.id }, b.token), 'FORBIDDEN');
});

// README, Groups: createGroup ignores the creator's own id in memberIds (she is the owner whatever the
// list says; a repeat counts once too), while addGroupMembers refuses anyone already in the group
// (CONFLICT: the group changed since the caller looked). No memberIds is a group of one.
test('createGroup: the creator\'s own id in memberIds is ignored; no memberIds is a group of one; addGroupMembers of herself is CONFLICT', async () => {
  const [a, b] = await crew(1);
  const CREATE = 'mutation($m: [ID!]!) { createGroup(name: "solo", memberIds: $m) { id memberCount owner { id } } }';
  for (const m of [[], [a.id], [a.id, a.id]]) {
    const g = (await ok(s.url, CREATE, { m }, a.token)).createGroup;
    assert.deepEqual({ memberCount: g.memberCount, owner: g.owner.id }, { memberCount: 1, owner: a.id }, JSON.stringify(m));
    assert.deepEqual((await members(a, g.id)).map((x) => [x.user.id, x.role]), [[a.id, 'OWNER']], JSON.stringify(m));
  }
  const g = (await ok(s.url, CREATE, { m: [a.id, b.id] }, a.token)).createGroup;
  assert.equal(g.memberCount, 2);
  const r = await gql(s.url, ADD, { g: g.id, u: [a.id] }, a.token);
  assert.equal(r.errors?.[0]?.extensions?.code, 'CONFLICT', JSON.stringify(r.errors));
  assert.match(r.errors![0].message, new RegExp(`already members: ${a.id}\\b`));
});

test('the size limit counts current members', async () => {
  const [a, ...rest] = await crew(5);
  const g = await newGroup(s.url, a, rest.slice(0, 3));
  assert.equal(await errorCode(s.url, ADD, { g, u: [rest[3].id, rest[4].id] }, a.token), 'LIMIT_EXCEEDED');
  assert.equal((await ok(s.url, ADD, { g, u: [rest[3].id] }, a.token)).addGroupMembers.memberCount, 5);
});

test('view windows: a join starts at the last message, a removal ends there, a re-add opens a new window and keeps the old one', async () => {
  const [a, b, c] = await crew(2);
  const g = await newGroup(s.url, a, [b]);
  await messageArrives(g, 101);
  await ok(s.url, ADD, { g, u: [c.id] }, a.token);
  const w1 = (await windows(g)).find((w) => w.user_id === c.id);
  assert.deepEqual([w1.active, w1.visible_from, w1.visible_to], [1, '101', null]);
  await messageArrives(g, 205);
  await ok(s.url, REMOVE, { g, u: c.id }, a.token);
  const w2 = (await windows(g)).find((w) => w.user_id === c.id);
  assert.deepEqual([w2.active, w2.visible_from, w2.visible_to], [0, '101', '205']);
  assert.equal((await ok(s.url, Q_GROUP, { id: g }, c.token)).group, null);
  await messageArrives(g, 310);
  await ok(s.url, ADD, { g, u: [c.id] }, a.token);
  const w3 = (await windows(g)).find((w) => w.user_id === c.id);
  assert.deepEqual([w3.active, w3.visible_from, w3.visible_to, w3.role], [1, '310', null, 3]);
  // The window starts at the head's seq too: messages from before the join never count as unread.
  const [row] = await sql.rows('SELECT visible_from_seq, visible_to_seq FROM conversation_member WHERE conversation_id = ? AND user_id = ?', [g, c.id]);
  assert.deepEqual(row, { visible_from_seq: 3, visible_to_seq: null });
  // The earlier window survives the re-add, ids and seqs alike.
  const earlier = await sql.rows('SELECT visible_from, visible_to, visible_from_seq, visible_to_seq FROM membership_window WHERE conversation_id = ? AND user_id = ?', [g, c.id]);
  assert.deepEqual(earlier, [{ visible_from: '101', visible_to: '205', visible_from_seq: 1, visible_to_seq: 2 }]);
});

test('leave: the owner hands over to the longest-standing admin, else member; the last one out dissolves', async () => {
  const [a, b, c, d] = await crew(3);
  const g = await newGroup(s.url, a, [b]);
  // d joins before c although d has the larger id: the hand-over must follow joined_at, not ids.
  await ok(s.url, ADD, { g, u: [d.id] }, a.token);
  await new Promise((r) => setTimeout(r, 5));
  await ok(s.url, ADD, { g, u: [c.id] }, a.token);
  await ok(s.url, ROLE, { g, u: c.id, r: 'ADMIN' }, a.token);
  await ok(s.url, ROLE, { g, u: d.id, r: 'ADMIN' }, a.token);
  await messageArrives(g, 900);
  assert.equal((await ok(s.url, LEAVE, { g }, a.token)).leaveGroup, true);
  let grp = (await ok(s.url, Q_GROUP, { id: g }, b.token)).group;
  assert.equal(grp.owner.id, d.id); // b joined first but is no admin
  assert.equal(grp.memberCount, 3);
  assert.equal(grp.members.find((m: any) => m.user.id === d.id).role, 'OWNER');
  const wa = (await windows(g)).find((w) => w.user_id === a.id);
  assert.deepEqual([wa.active, wa.visible_from, wa.visible_to], [0, '0', '900']);
  assert.equal(await errorCode(s.url, LEAVE, { g }, a.token), 'NOT_FOUND'); // no longer hers: as a group nobody has
  assert.deepEqual((await ok(s.url, '{ groups { id } }', {}, a.token)).groups, []);
  await ok(s.url, LEAVE, { g }, d.token);
  assert.equal((await ok(s.url, Q_GROUP, { id: g }, b.token)).group.owner.id, c.id);
  await ok(s.url, LEAVE, { g }, c.token);
  grp = (await ok(s.url, Q_GROUP, { id: g }, b.token)).group;
  assert.deepEqual([grp.owner.id, grp.memberCount], [b.id, 1]); // no admin left: the longest-standing member
  await ok(s.url, LEAVE, { g }, b.token);
  const [cg] = await sql.rows('SELECT member_count, dissolved_at FROM chat_group WHERE id = ?', [g]);
  assert.equal(cg.member_count, 0);
  assert.ok(cg.dissolved_at);
  assert.equal((await ok(s.url, Q_GROUP, { id: g }, b.token)).group, null);
});

test('dissolve: owner only; every member is told and every window closes', async () => {
  const [a, b, c] = await crew(2);
  const g = await newGroup(s.url, a, [b, c]);
  await ok(s.url, ROLE, { g, u: b.id, r: 'ADMIN' }, a.token);
  const before = await snapshot(sql);
  assert.equal(await errorCode(s.url, DISSOLVE, { g }, b.token), 'FORBIDDEN');
  assert.equal(await errorCode(s.url, DISSOLVE, { g }, c.token), 'FORBIDDEN');
  assert.equal(await snapshot(sql), before);
  const lc = await listen(s, c);
  try {
    await messageArrives(g, 4242);
    assert.equal((await ok(s.url, DISSOLVE, { g }, a.token)).dissolveGroup, true);
    const pushed = await lc.next(1);
    assert.deepEqual([pushed[0].type, pushed[0].groupId, pushed[0].group], ['GROUP_DISSOLVED', g, null]);
  } finally {
    await lc.close();
  }
  for (const u of [a, b, c]) {
    assert.ok((await notes(s.url, u, 'INITIAL')).some((n) => n.type === 'GROUP_DISSOLVED' && n.groupId === g && n.group === null));
    assert.deepEqual((await ok(s.url, '{ groups { id } }', {}, u.token)).groups, []);
    assert.equal((await ok(s.url, Q_GROUP, { id: g }, u.token)).group, null);
  }
  for (const w of await windows(g)) assert.deepEqual([w.active, w.visible_to], [0, '4242']);
  assert.equal(await errorCode(s.url, ADD, { g, u: [b.id] }, a.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, DISSOLVE, { g }, a.token), 'NOT_FOUND');
});

test('group(id) and members are for members only; members page by user id', async () => {
  const [a, b, c, d] = await crew(3);
  const g = await newGroup(s.url, a, [b, c, d]);
  const outsider = await registerUser(s.url);
  // null for an outsider, as for a group nobody has: the id tells nothing.
  assert.equal((await ok(s.url, Q_GROUP, { id: g }, outsider.token)).group, null);
  assert.equal((await ok(s.url, Q_GROUP, { id: '987654321' }, a.token)).group, null);
  assert.equal(await errorCode(s.url, Q_GROUP, { id: 'abc' }, a.token), 'BAD_USER_INPUT');
  const PAGE = 'query($id: ID!, $f: Int, $a: ID) { group(id: $id) { members(first: $f, after: $a) { user { id } } } }';
  const all = [a, b, c, d].map((u) => u.id).sort((x, y) => Number(BigInt(x) - BigInt(y)));
  const p1 = (await ok(s.url, PAGE, { id: g, f: 3 }, b.token)).group.members.map((m: any) => m.user.id);
  const p2 = (await ok(s.url, PAGE, { id: g, f: 3, a: p1[2] }, b.token)).group.members.map((m: any) => m.user.id);
  assert.deepEqual([...p1, ...p2], all);
  assert.equal(await errorCode(s.url, PAGE, { id: g, f: 0 }, b.token), 'BAD_USER_INPUT');
  // A removed member's notifications still name the group by id, but the group itself (name, size, members) is for members.
  const before = await ok(s.url, '{ notifications(status: INITIAL) { type groupId group { id name } } }', {}, d.token);
  assert.equal(before.notifications[0].group.id, g, 'while a member, the group');
  await ok(s.url, REMOVE, { g, u: d.id }, a.token);
  const r = await ok(s.url, '{ notifications(status: INITIAL) { type groupId group { id name memberCount members { role } } } }', {}, d.token);
  assert.ok(r.notifications.length >= 2);
  for (const n of r.notifications) {
    assert.equal(n.groupId, g);
    assert.equal(n.group, null, 'no longer a member: null, no error');
  }
});
