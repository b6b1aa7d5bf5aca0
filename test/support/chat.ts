import type { Client } from 'graphql-ws';
import { collect, ok, sleep, type TestUser, wsClient } from './harness';

export const MESSAGE_FIELDS = 'id seq clientMsgId type content ext receiverId groupId createdAt protobuf sender { id }';

export async function makeFriends(url: string, a: TestUser, b: TestUser): Promise<void> {
  const r = await ok(url, 'mutation($u: ID!) { sendFriendRequest(userId: $u) { id } }', { u: b.id }, a.token);
  await ok(url, 'mutation($n: ID!) { respondToFriendRequest(notificationId: $n, accept: true) { id } }', { n: r.sendFriendRequest.id }, b.token);
}

export async function createGroup(url: string, owner: TestUser, members: TestUser[], name = 'g'): Promise<string> {
  const r = await ok(url, 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, memberIds: $m) { id } }', { n: name, m: members.map((m) => m.id) }, owner.token);
  return r.createGroup.id;
}

let seq = 0;
export async function send(url: string, from: TestUser, to: { userId?: string; groupId?: string }, content: string, clientMsgId = `c${process.pid}-${++seq}`) {
  const r = await ok(url, `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${MESSAGE_FIELDS} } }`, { i: { to, clientMsgId, type: 'TEXT', content } }, from.token);
  return r.sendMessage as { id: string; seq: number; content: string; clientMsgId: string };
}

/** The D14 catch-up: sync and acknowledgeSync page by page until hasMore is false. */
export async function syncAll(url: string, user: TestUser, limit = 200): Promise<Array<{ id: string; seq: number; content: string }>> {
  const all: Array<{ id: string; seq: number; content: string }> = [];
  for (let round = 0; round < 1000; round++) {
    const r = await ok(url, `query($l: Int) { sync(limit: $l) { messages { ${MESSAGE_FIELDS} } hasMore syncToken } }`, { l: limit }, user.token);
    const b = r.sync;
    all.push(...b.messages);
    if (!b.messages.length && !b.hasMore) {
      const a = await ok(url, 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted lastAckErr } }', { u: '1', t: b.syncToken }, user.token);
      if (a.acknowledgeSync.accepted) return all;
      await sleep(50);
      continue;
    }
    const last = b.messages.length ? b.messages[b.messages.length - 1].id : '1';
    const a = await ok(url, 'mutation($u: ID!, $t: String!) { acknowledgeSync(upTo: $u, syncToken: $t) { accepted } }', { u: last, t: b.syncToken }, user.token);
    if (a.acknowledgeSync.accepted && !b.hasMore) return all;
    if (!a.acknowledgeSync.accepted) await sleep(50);
  }
  throw new Error('sync did not finish');
}

/** A device online: socket, messages subscription, optional auto-acknowledge of each push. */
export function device(url: string, wsUrl: string, user: TestUser, opts: { autoAck?: boolean } = {}) {
  const client: Client = wsClient(wsUrl, { authorization: `Bearer ${user.token}` });
  const sub = collect<{ messages: { id: string; seq: number; content: string } }>(client, `subscription { messages { ${MESSAGE_FIELDS} } }`);
  const acked: string[] = [];
  if (opts.autoAck !== false) {
    const seen = new Set<string>();
    const timer = setInterval(() => {
      const fresh = sub.values.map((v) => v.messages.id).filter((id) => !seen.has(id));
      if (!fresh.length) return;
      fresh.forEach((id) => seen.add(id));
      void ok(url, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }', { ids: fresh }, user.token).then(() => acked.push(...fresh), () => undefined);
    }, 20);
    const dispose = client.dispose.bind(client);
    client.dispose = () => {
      clearInterval(timer);
      return dispose();
    };
  }
  return { client, sub, acked, pushed: () => sub.values.map((v) => v.messages) };
}

/** Waits until the user's `messages` subscription is live (the device is present). */
export async function waitOnline(url: string, user: TestUser, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await ok(url, '{ me { online } }', {}, user.token);
    if (r.me.online) return;
    await sleep(20);
  }
  throw new Error('the device never came online');
}
