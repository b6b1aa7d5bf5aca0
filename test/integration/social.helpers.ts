import { after, before } from 'node:test';
import { collect, ok, openDb, type TestDb, sleep, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';

/** Shared by friends, notifications, groups, cache and authz-matrix tests. */
export const NOTE = 'id type status remark createdAt updatedAt sender { id name } receiver { id } groupId group { id name }';
export const GROUP = 'id name avatar memberCount createdAt owner { id } members { user { id } role joinedAt lastRead }';

export async function requestFriend(url: string, from: TestUser, to: TestUser, remark?: string): Promise<string> {
  const r = await ok(url, 'mutation($u: ID!, $r: String) { sendFriendRequest(userId: $u, remark: $r) { id } }', { u: to.id, r: remark }, from.token);
  return r.sendFriendRequest.id;
}

export async function befriend(url: string, a: TestUser, b: TestUser): Promise<void> {
  const id = await requestFriend(url, a, b);
  await ok(url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: id }, b.token);
}

export async function friendsOf(url: string, u: TestUser): Promise<Array<{ user: { id: string }; remark: string | null; starred: boolean; blocked: boolean; since: string }>> {
  return (await ok(url, '{ friends { user { id } remark starred blocked since } }', {}, u.token)).friends;
}

export async function notes(url: string, u: TestUser, status?: string, first = 50): Promise<any[]> {
  const r = await ok(url, `query($s: NotificationStatus, $f: Int) { notifications(status: $s, first: $f) { ${NOTE} } }`, { s: status, f: first }, u.token);
  return r.notifications;
}

export async function newGroup(url: string, owner: TestUser, members: TestUser[], name = 'team'): Promise<string> {
  const r = await ok(url, 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, memberIds: $m) { id } }', { n: name, m: members.map((m) => m.id) }, owner.token);
  return r.createGroup.id;
}

/** A socket holding the `notifications` subscription; wait a moment so Redis SUBSCRIBE is in place before pushes. */
export async function listen(s: TestServer, u: TestUser) {
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${u.token}` });
  const sub = collect<{ notifications: any }>(client, `subscription { notifications { ${NOTE} } }`);
  await sleep(300);
  return {
    sub,
    async next(n: number) {
      return (await sub.waitFor(n)).map((v) => v.notifications);
    },
    async close() {
      sub.dispose();
      await client.dispose();
    },
  };
}

/** A direct connection to the run's database, to check stored state (and to play the message engine). */
export async function db(s: TestServer): Promise<TestDb & { rows(sql: string, params?: unknown[]): Promise<any[]> }> {
  const conn = await openDb(s, false);
  return Object.assign(conn, {
    // Ids as text in both dialects (MariaDB's BIGINTs and SQLite's integers alike), so rows compare across them.
    async rows(sql: string, params: unknown[] = []) {
      const r = await conn.query(sql, params);
      return JSON.parse(JSON.stringify(r, (k, v) => (typeof v === 'bigint' || (typeof v === 'number' && /(^|_)id$/.test(k)) ? String(v) : v)));
    },
  });
}

/** Every row this issue writes, as text: equal snapshots mean nothing changed. */
export async function snapshot(conn: Awaited<ReturnType<typeof db>>): Promise<string> {
  const parts: unknown[] = [];
  for (const [t, order] of [
    ['friendship', 'user_lo, user_hi'],
    ['friend_setting', 'user_id, peer_id'],
    ['notification', 'id'],
    ['conversation', 'id'],
    ['chat_group', 'id'],
    ['conversation_member', 'conversation_id, user_id'],
    ['membership_window', 'user_id, conversation_id, visible_from'],
  ]) {
    parts.push(t, await conn.rows(`SELECT * FROM ${t} ORDER BY ${order}`));
  }
  return JSON.stringify(parts);
}

/** A SQL connection to a test server's database (see db()). */
export type Db = Awaited<ReturnType<typeof db>>;

/**
 * This file's server (with `extra` settings) and a SQL connection to its
 * database: started before its tests and handed over through `set`, closed
 * after them.
 */
export function serverWithDb(set: (s: TestServer, sql: Db) => void, extra: Record<string, string> = {}): void {
  let server: TestServer | undefined;
  let sql: Db | undefined;
  before(async () => {
    server = await startServer(extra);
    sql = await db(server);
    set(server, sql);
  });
  after(async () => {
    await sql?.end();
    await server?.close();
  });
}
