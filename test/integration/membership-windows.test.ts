import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGE_FIELDS, createGroup, device, makeFriends, send, waitOnline } from '../support/chat';
import { errorCode, loginUser, ok, registerUser, sleep, type TestServer, type TestUser } from '../support/harness';
import { serverWithDb, type Db } from './social.helpers';

/**
 * What a member can see is the union of all her membership windows: leaving,
 * removal, re-joining and dissolving never hide what she could see once, and
 * sync, history, unreadCount and messageReaders agree on it.
 */
let s: TestServer;
let sql: Db;
serverWithDb((server, conn) => {
  s = server;
  sql = conn;
});

const ADD = 'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }';
const REMOVE = 'mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }';
const LEAVE = 'mutation($g: ID!) { leaveGroup(groupId: $g) }';
const DISSOLVE = 'mutation($g: ID!) { dissolveGroup(groupId: $g) }';
const MARK = 'mutation($g: ID!, $u: ID!) { markRead(with: { groupId: $g }, upTo: $u) { lastRead } }';
const READERS = 'query($g: ID!, $m: ID!) { messageReaders(groupId: $g, messageId: $m) { read { id } unread { id } } }';
const HISTORY = `query($g: ID!, $b: ID, $a: Int, $l: Int) { history(with: { groupId: $g }, before: $b, afterSeq: $a, limit: $l) { messages { id seq } hasMore } }`;

type Msg = { id: string; seq: number };
const ids = (ms: Msg[]) => ms.map((m) => m.id);

/** bob (the group's owner), carol, and alice who stays in the group all along. */
async function trio(): Promise<{ bob: TestUser; carol: TestUser; alice: TestUser; g: string }> {
  const [bob, carol, alice] = await Promise.all([registerUser(s.url), registerUser(s.url), registerUser(s.url)]);
  await makeFriends(s.url, bob, carol);
  await makeFriends(s.url, bob, alice);
  return { bob, carol, alice, g: await createGroup(s.url, bob, [carol, alice]) };
}

/** A device that never opens a socket: a second login, caught up over HTTP only (contents, not the ack). */
async function phoneOf(user: TestUser): Promise<TestUser> {
  return loginUser(s.url, user.account);
}

async function syncContents(dev: TestUser, g: string): Promise<string[]> {
  const r = await ok(s.url, `query { sync(limit: 500) { messages { ${MESSAGE_FIELDS} } hasMore } }`, {}, dev.token);
  assert.equal(r.sync.hasMore, false);
  return r.sync.messages.filter((m: any) => m.groupId === g).map((m: any) => m.id);
}

/** Every page of history, scrolling back with `before` and forward with `afterSeq`, two at a time. */
async function historyBothWays(user: TestUser, g: string): Promise<{ back: string[]; forward: string[] }> {
  const back: Msg[] = [];
  let page = (await ok(s.url, HISTORY, { g, l: 2 }, user.token)).history;
  back.unshift(...page.messages);
  for (let i = 0; page.hasMore && i < 50; i++) {
    page = (await ok(s.url, HISTORY, { g, b: back[0].id, l: 2 }, user.token)).history;
    back.unshift(...page.messages);
  }
  const forward: Msg[] = [];
  for (let i = 0, more = true; more && i < 50; i++) {
    page = (await ok(s.url, HISTORY, { g, a: forward.length ? forward[forward.length - 1].seq : 0, l: 2 }, user.token)).history;
    forward.push(...page.messages);
    more = page.hasMore;
  }
  return { back: ids(back), forward: ids(forward) };
}

async function unreadCount(user: TestUser, g: string): Promise<number | undefined> {
  const list = (await ok(s.url, '{ conversations { group { id } unreadCount } }', {}, user.token)).conversations;
  return list.find((c: any) => c.group?.id === g)?.unreadCount;
}

/** Where `who` stands for message m, as the sender sees it: 'read', 'unread' or 'none' (not in its audience). */
async function standing(asker: TestUser, g: string, m: string, who: TestUser): Promise<'read' | 'unread' | 'none'> {
  const r = (await ok(s.url, READERS, { g, m }, asker.token)).messageReaders;
  const inRead = r.read.some((u: any) => u.id === who.id);
  const inUnread = r.unread.some((u: any) => u.id === who.id);
  assert.ok(!(inRead && inUnread));
  return inRead ? 'read' : inUnread ? 'unread' : 'none';
}

/**
 * The one rule, checked on every read: `all` are the group's messages (bob's),
 * `visible` those inside carol's windows, `readUpTo` the last one she read.
 * `member`: whether she is in the group now (only then is the group listed).
 */
async function agree(
  t: { bob: TestUser; carol: TestUser; g: string },
  devices: TestUser[],
  all: Msg[],
  visible: Msg[],
  opts: { readUpTo?: string; member: boolean; askReaders?: boolean },
): Promise<void> {
  const { bob, carol, g } = t;
  const want = ids(visible);
  for (const d of devices) assert.deepEqual(await syncContents(d, g), want, 'sync');
  const h = await historyBothWays(carol, g);
  assert.deepEqual(h.back, want, 'history, scrolling back');
  assert.deepEqual(h.forward, want, 'history, filling forward by seq');
  const unread = visible.filter((m) => !opts.readUpTo || BigInt(m.id) > BigInt(opts.readUpTo));
  assert.equal(await unreadCount(carol, g), opts.member ? unread.length : undefined, 'unreadCount');
  if (opts.askReaders === false) return;
  for (const m of all) {
    // Unread lists members now; a former member stays among the readers of what she read.
    const expected = !want.includes(m.id) ? 'none' : !unread.some((u) => u.id === m.id) ? 'read' : opts.member ? 'unread' : 'none';
    assert.equal(await standing(bob, g, m.id, carol), expected, `messageReaders of ${m.id}`);
  }
}

test('the exact case: removed and re-added while her phone is offline, m1 stays hers on every read', async () => {
  const t = await trio();
  const { bob, carol, g } = t;
  const phone = await phoneOf(carol);
  const desktop = device(s.url, s.wsUrl, carol);
  try {
    await waitOnline(s.url, carol);
    const m1 = await send(s.url, bob, { groupId: g }, 'm1');
    await desktop.sub.waitFor(1);
    await ok(s.url, REMOVE, { g, u: carol.id }, bob.token);
    const m2 = await send(s.url, bob, { groupId: g }, 'm2');
    await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
    const m3 = await send(s.url, bob, { groupId: g }, 'm3');
    await desktop.sub.waitFor(2);
    await sleep(200);
    assert.deepEqual(ids(desktop.pushed()), [m1.id, m3.id], 'the desktop got m1 and m3 live, never m2');

    assert.deepEqual(await syncContents(phone, g), [m1.id, m3.id], 'the phone catches up on m1 too');
    await agree(t, [phone], [m1, m2, m3], [m1, m3], { member: true });
    // Reading m1, a message of her first window, is reading; m2 is not hers to read.
    assert.equal((await ok(s.url, MARK, { g, u: m1.id }, carol.token)).markRead.lastRead, m1.id);
    assert.equal(await errorCode(s.url, MARK, { g, u: m2.id }, carol.token), 'BAD_USER_INPUT');
    await agree(t, [phone], [m1, m2, m3], [m1, m3], { member: true, readUpTo: m1.id });
    // She cannot ask about m2 either: it does not exist for her.
    assert.equal(await errorCode(s.url, READERS, { g, m: m2.id }, carol.token), 'NOT_FOUND');
    assert.equal(await standing(carol, g, m1.id, t.alice), 'unread');
  } finally {
    await desktop.client.dispose();
  }
});

test('leave and rejoin: what she saw before leaving stays hers, the gap never shows, a former member keeps her window', async () => {
  const t = await trio();
  const { bob, carol, g } = t;
  const phone = await phoneOf(carol);
  const m1 = await send(s.url, bob, { groupId: g }, 'before');
  assert.equal(await ok(s.url, LEAVE, { g }, carol.token).then((r) => r.leaveGroup), true);
  const m2 = await send(s.url, bob, { groupId: g }, 'while out');
  // Out of the group: her window is closed, not gone.
  await agree(t, [phone], [m1, m2], [m1], { member: false, askReaders: false });
  await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
  const m3 = await send(s.url, bob, { groupId: g }, 'back');
  await agree(t, [phone], [m1, m2, m3], [m1, m3], { member: true });
  // Leaving and coming back with nothing sent in between changes nothing.
  await ok(s.url, LEAVE, { g }, carol.token);
  await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
  const m4 = await send(s.url, bob, { groupId: g }, 'again');
  await agree(t, [phone], [m1, m2, m3, m4], [m1, m3, m4], { member: true });
  // Gone for good: she is still in the audience of what she could see (unread, as she read none of it).
  await ok(s.url, MARK, { g, u: m3.id }, carol.token);
  await ok(s.url, LEAVE, { g }, carol.token);
  const m5 = await send(s.url, bob, { groupId: g }, 'after she left');
  await agree(t, [phone], [m1, m2, m3, m4, m5], [m1, m3, m4], { member: false, readUpTo: m3.id });
});

test('removed and re-added many times, reading in between: every window counts, every gap stays out', async () => {
  const t = await trio();
  const { bob, carol, g } = t;
  const phone = await phoneOf(carol);
  const all: Msg[] = [];
  const visible: Msg[] = [];
  let readUpTo: string | undefined;
  for (let round = 0; round < 4; round++) {
    for (const k of [0, 1]) {
      const m = await send(s.url, bob, { groupId: g }, `in ${round}.${k}`);
      all.push(m);
      visible.push(m);
    }
    if (round === 1) {
      readUpTo = visible[visible.length - 2].id;
      await ok(s.url, MARK, { g, u: readUpTo }, carol.token);
    }
    await ok(s.url, REMOVE, { g, u: carol.id }, bob.token);
    if (round !== 2) all.push(await send(s.url, bob, { groupId: g }, `out ${round}`));
    await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
  }
  const last = await send(s.url, bob, { groupId: g }, 'last');
  all.push(last);
  visible.push(last);
  await agree(t, [phone], all, visible, { member: true, readUpTo });
  // Round 2's gap held no message, so its window simply went on: three closed windows, not four.
  const closed = await sql.rows('SELECT visible_from FROM membership_window WHERE user_id = ? AND conversation_id = ?', [carol.id, g]);
  assert.equal(closed.length, 3);
  // A second phone that logs in now starts from now: only what comes next.
  const late = await phoneOf(carol);
  const next = await send(s.url, bob, { groupId: g }, 'next');
  assert.deepEqual(await syncContents(late, g), [next.id]);
});

test('dissolve after a removal and re-add: every window stays readable, the group leaves her list', async () => {
  const t = await trio();
  const { bob, carol, g } = t;
  const phone = await phoneOf(carol);
  const m1 = await send(s.url, bob, { groupId: g }, 'm1');
  await ok(s.url, REMOVE, { g, u: carol.id }, bob.token);
  const m2 = await send(s.url, bob, { groupId: g }, 'm2');
  await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
  const m3 = await send(s.url, bob, { groupId: g }, 'm3');
  assert.equal((await ok(s.url, DISSOLVE, { g }, bob.token)).dissolveGroup, true);
  await agree(t, [phone], [m1, m2, m3], [m1, m3], { member: false, askReaders: false });
  // Nobody is a member of a dissolved group, so nobody may ask who read what.
  assert.equal(await errorCode(s.url, READERS, { g, m: m1.id }, bob.token), 'NOT_FOUND');
  assert.equal(await errorCode(s.url, READERS, { g, m: m1.id }, carol.token), 'NOT_FOUND');
  // Reading stays possible inside her windows.
  assert.equal((await ok(s.url, MARK, { g, u: m3.id }, carol.token)).markRead.lastRead, m3.id);
});

test("a group message's fan-out audience is the members whose windows hold it, however membership changed after it", async () => {
  const t = await trio();
  const { bob, carol, alice, g } = t;
  const dave = await registerUser(s.url);
  await makeFriends(s.url, bob, dave);
  const audience = (m: Msg) => s.app.services.groups.audienceOf(g, m.id);
  const sorted = (us: TestUser[]) => us.map((u) => u.id).sort();
  const m1 = await send(s.url, bob, { groupId: g }, 'm1');
  // Carol is removed after m1 was stored (as if between its commit and its fan-out): m1 is still hers.
  await ok(s.url, REMOVE, { g, u: carol.id }, bob.token);
  const m2 = await send(s.url, bob, { groupId: g }, 'm2');
  await ok(s.url, ADD, { g, u: [carol.id, dave.id] }, bob.token);
  const m3 = await send(s.url, bob, { groupId: g }, 'm3');
  assert.deepEqual(await audience(m1), sorted([bob, carol, alice]), 'm1: carol removed after it is in, dave added after it is not');
  assert.deepEqual(await audience(m2), sorted([bob, alice]), 'm2: sent while carol was out');
  assert.deepEqual(await audience(m3), sorted([bob, carol, alice, dave]));
  // Carol leaves after m3 and re-joins: m1's window now lies in membership_window, and still counts.
  await ok(s.url, LEAVE, { g }, carol.token);
  await send(s.url, bob, { groupId: g }, 'm4');
  await ok(s.url, ADD, { g, u: [carol.id] }, bob.token);
  assert.deepEqual(await audience(m1), sorted([bob, carol, alice]));
  assert.deepEqual(await audience(m3), sorted([bob, carol, alice, dave]));
});
