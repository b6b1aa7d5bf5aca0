import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import { MESSAGE_FIELDS, makeFriends } from '../support/chat';
import { registerUser, sleep, testMode, startServer, type TestServer, type TestUser, wsClient } from '../support/harness';

/** Prometheus text format: `name{labels} value` lines into a map keyed by `name{labels}`. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return parse(await res.text());
}

const metricsUrl = (s: TestServer) => s.url.replace(/\/graphql$/, '/metrics');

/** One operation over the socket, resolved with its result (errors included). */
function run(client: Client, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve, reject) => {
    let result: { data?: any; errors?: any[] } = {};
    client.subscribe({ query, variables }, { next: (r) => (result = r as typeof result), error: reject, complete: () => resolve(result) });
  });
}

/** A device on the socket: subscribed to messages, acknowledging every push over the same socket. */
function device(s: TestServer, user: TestUser) {
  const client = wsClient(s.wsUrl, { authorization: `Bearer ${user.token}` });
  const received: string[] = [];
  client.subscribe(
    { query: `subscription { messages { ${MESSAGE_FIELDS} } }` },
    {
      next: (r: any) => {
        const id = r.data?.messages?.id;
        if (!id) return;
        received.push(id);
        // An acknowledge in flight when the socket is closed fails: its push is then a failure, as it should be.
        run(client, 'mutation($ids: [ID!]!) { acknowledge(messageIds: $ids) { accepted } }', { ids: [id] }).catch(() => undefined);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  return { client, received };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`;

describe('GET /metrics during traffic', () => {
  let s: TestServer;
  let users: TestUser[];
  before(async () => {
    s = await startServer();
    users = await Promise.all([0, 1, 2].map(() => registerUser(s.url)));
    await makeFriends(s.url, users[0], users[1]);
    await makeFriends(s.url, users[1], users[2]);
    await makeFriends(s.url, users[0], users[2]);
  });
  after(() => s.close());

  test('messages stored, deliveries, ack latency, operations and open sockets move with socket traffic', async () => {
    const before = await scrape(metricsUrl(s));
    assert.equal(before.get('im_messages_stored_total'), 0);
    assert.equal(before.get('im_deliveries_total{outcome="success"}'), 0);
    assert.equal(before.get('im_sockets_open'), 0);
    assert.ok((before.get('process_cpu_user_seconds_total') ?? -1) >= 0, 'process metrics are collected');
    // Embedded, the node has no Redis client to report.
    assert.equal(before.get('im_redis_up{client="main"}'), testMode === 'cluster' ? 1 : undefined);
    assert.equal(before.get('im_redis_up{client="queue-delivery"}'), testMode === 'cluster' ? 1 : undefined);
    assert.ok((before.get('im_db_pool_connections{pool="sql",state="total"}') ?? 0) >= 1, 'the delivery pool is shown');
    assert.ok(before.has('im_db_pool_connections{pool="orm",state="active"}'), "MikroORM's pool is shown");
    assert.equal(before.get('im_queue_jobs{queue="delivery",state="waiting"}'), 0);
    assert.equal(before.get('im_queue_stalled_jobs_total{queue="fanout"}'), 0);

    const devices = users.map((u) => device(s, u));
    await until('three messages subscriptions', async () => (await scrape(metricsUrl(s))).get('im_subscriptions_open{subscription="messages"}') === 3);
    // Each user sends 5 messages to each other user, over its socket; scrapes run beside the traffic.
    const perPair = 5;
    const scrapes: Array<Map<string, number>> = [];
    let sending = true;
    const scraper = (async () => {
      while (sending) {
        scrapes.push(await scrape(metricsUrl(s)));
        await sleep(5);
      }
    })();
    await Promise.all(
      users.flatMap((from, i) =>
        users
          .filter((to) => to !== from)
          .map(async (to) => {
            for (let k = 0; k < perPair; k++) {
              const r = await run(devices[i].client, SEND, { i: { to: { userId: to.id }, clientMsgId: `m-${from.id}-${to.id}-${k}`, type: 'TEXT', content: `hi ${k}` } });
              assert.ok(r.data?.sendMessage?.id, JSON.stringify(r.errors));
            }
          }),
      ),
    );
    const sent = users.length * (users.length - 1) * perPair;
    // Each receiver has one device, which acknowledges: one success per message (a sender has no other device).
    await until('every delivery acknowledged', async () => (await scrape(metricsUrl(s))).get('im_deliveries_total{outcome="success"}') === sent);
    sending = false;
    await scraper;
    assert.ok(scrapes.length >= 2, 'scraped during the traffic');
    for (let i = 1; i < scrapes.length; i++) {
      assert.ok(scrapes[i].get('im_messages_stored_total')! >= scrapes[i - 1].get('im_messages_stored_total')!, 'a counter never goes down');
    }

    const m = await scrape(metricsUrl(s));
    assert.equal(m.get('im_messages_stored_total'), sent);
    assert.equal(m.get('im_deliveries_total{outcome="failure"}'), 0);
    assert.equal(m.get('im_ack_latency_seconds_count'), sent, 'one ack latency per acknowledged push');
    assert.ok(m.get('im_ack_latency_seconds_sum')! > 0);
    assert.ok(m.get('im_push_latency_seconds_count')! >= sent, 'every push handed to a socket is timed');
    assert.equal(m.get('im_operations_total{operation="sendMessage",transport="ws",outcome="ok"}'), sent);
    assert.equal(m.get('im_operations_total{operation="messages",transport="ws",outcome="ok"}'), 3);
    assert.ok(m.get('im_operations_total{operation="acknowledge",transport="ws",outcome="ok"}')! >= 1);
    assert.ok(m.get('im_operations_total{operation="register",transport="http",outcome="ok"}')! >= 3);
    assert.ok(m.get('im_cursor_batch_rows_count{statement="success"}')! >= 1, 'acknowledged pushes share cursor statements');
    assert.equal(m.get('im_sockets_open'), 3);
    assert.equal(m.get('im_subscriptions_open{subscription="messages"}'), 3);
    for (const d of devices) assert.equal(d.received.length, 2 * perPair);

    // An error outcome carries its code; an offline receiver counts as offline.
    const stranger = await registerUser(s.url);
    const refused = await run(devices[0].client, SEND, { i: { to: { userId: stranger.id }, clientMsgId: 'no', type: 'TEXT', content: 'x' } });
    assert.equal(refused.errors?.[0]?.extensions?.code, 'NOT_FRIENDS');
    await devices[2].client.dispose();
    await until('the closed socket gone', async () => (await scrape(metricsUrl(s))).get('im_subscriptions_open{subscription="messages"}') === 2);
    await run(devices[0].client, SEND, { i: { to: { userId: users[2].id }, clientMsgId: 'offline-1', type: 'TEXT', content: 'later' } });
    await until('an offline delivery', async () => (await scrape(metricsUrl(s))).get('im_deliveries_total{outcome="offline"}')! >= 1);
    const end = await scrape(metricsUrl(s));
    assert.equal(end.get('im_operations_total{operation="sendMessage",transport="ws",outcome="NOT_FRIENDS"}'), 1);
    assert.equal(end.get('im_messages_stored_total'), sent + 1);
    assert.equal(end.get('im_sockets_open'), 2);
    // A repeat of a clientMsgId is answered with the stored message and is not counted again.
    const repeat = await run(devices[0].client, SEND, { i: { to: { userId: users[1].id }, clientMsgId: `m-${users[0].id}-${users[1].id}-0`, type: 'TEXT', content: 'hi 0' } });
    assert.ok(repeat.data?.sendMessage?.id);
    const afterRepeat = await scrape(metricsUrl(s));
    assert.equal(afterRepeat.get('im_messages_stored_total'), sent + 1);
    assert.equal(afterRepeat.get('im_operations_total{operation="sendMessage",transport="ws",outcome="ok"}'), sent + 2);

    await Promise.all(devices.slice(0, 2).map((d) => d.client.dispose()));
    await until('no socket left', async () => {
      const x = await scrape(metricsUrl(s));
      return x.get('im_sockets_open') === 0 && x.get('im_subscriptions_open{subscription="messages"}') === 0;
    });
  });

  test('operation labels are root fields of the schema: a made-up field or a parse error is (invalid)', async () => {
    const post = (query: string) =>
      fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then((r) => r.json());
    await post('{ noSuchField_abc }');
    await post('{ me { id ');
    const m = await scrape(metricsUrl(s));
    assert.ok(m.get('im_operations_total{operation="(invalid)",transport="http",outcome="GRAPHQL_VALIDATION_FAILED"}')! >= 1);
    assert.ok(m.get('im_operations_total{operation="(invalid)",transport="http",outcome="GRAPHQL_PARSE_FAILED"}')! >= 1);
    assert.ok(![...m.keys()].some((k) => k.includes('noSuchField_abc')), 'no series named by the client');
  });
});

describe('where /metrics is served', () => {
  test('METRICS_PORT: only on its own server (a registry of its own), not on the API port', async () => {
    const s = await startServer({ METRICS_PORT: '0' });
    try {
      const port = s.app.metricsPort();
      assert.ok(port && port !== s.app.port(), 'a port of its own');
      assert.equal((await fetch(metricsUrl(s))).status, 404, 'not on the API port');
      const m = await scrape(`http://127.0.0.1:${port}/metrics`);
      assert.equal(m.get('im_messages_stored_total'), 0, "this server's registry, not another's");
      assert.equal((await fetch(`http://127.0.0.1:${port}/graphql`)).status, 404, 'the metrics port serves nothing else');
    } finally {
      await s.close();
    }
  });

  test('production: off unless METRICS_ENABLED=true or METRICS_PORT is set', async () => {
    const off = await startServer({ NODE_ENV: 'production' });
    try {
      assert.equal(off.app.metricsPort(), undefined);
      assert.equal((await fetch(metricsUrl(off))).status, 404);
    } finally {
      await off.close();
    }
    const on = await startServer({ NODE_ENV: 'production', METRICS_ENABLED: 'true' });
    try {
      assert.equal((await scrape(metricsUrl(on))).get('im_sockets_open'), 0);
    } finally {
      await on.close();
    }
    const port = await startServer({ NODE_ENV: 'production', METRICS_PORT: '0' });
    try {
      assert.equal((await fetch(metricsUrl(port))).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port.app.metricsPort()}/metrics`)).status, 200);
    } finally {
      await port.close();
    }
  });
});
