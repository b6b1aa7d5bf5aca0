import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckBus } from '../../src/delivery/ack-bus';
import type { MessageRow } from '../../src/delivery/message-source';
import { NodeBus } from '../../src/delivery/node-bus';
import { aloneWire, type Wire } from '../../src/delivery/wire';
import { createLogger } from '../../src/logger';

const log = createLogger('silent');
const row = (id: string) => ({ id, created_at: new Date() }) as unknown as MessageRow;
const conn = { connectionId: 'c1', userId: 'u1', deviceId: 'd1' };

/** Opens a stream on `bus` for `c` and collects what it receives. */
async function listen(bus: NodeBus, c = conn) {
  const got: string[] = [];
  const stream = bus.open(c, (m) => m.id, async () => undefined, async () => undefined);
  const pump = (async () => {
    for await (const id of stream) got.push(id);
  })();
  await new Promise((r) => setImmediate(r)); // the stream starts on its first read
  return { got, close: async () => (await stream.return?.(), await pump) };
}

test('alone (embedded): a push to a socket of this node arrives, one to another node finds it gone', async () => {
  const bus = new NodeBus('n1', aloneWire, (n) => `node:${n}`, log);
  await bus.start();
  const s = await listen(bus);
  await bus.push({ ...conn, nodeId: 'n1' }, row('7'));
  await assert.rejects(bus.push({ ...conn, nodeId: 'n2' }, row('8')), /node n2 is gone/);
  await assert.rejects(bus.push({ ...conn, connectionId: 'c9', nodeId: 'n1' }, row('9')), /connection is gone/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(s.got, ['7']);
  await s.close();
});

test("alone (embedded): an acknowledge resolves this node's waits of that very device, and nothing else", async () => {
  const acks = new AckBus(aloneWire, 'acks');
  await acks.start();
  const mine = acks.wait('u1', 'd1', '5', 1000);
  const otherDevice = acks.wait('u1', 'd2', '5', 60);
  const later = acks.wait('u1', 'd1', '6', 60);
  await acks.acknowledge('u1', 'd1', ['5', '404']); // 404: nobody waits for it, and there is nobody else to tell
  assert.equal(await mine, true);
  assert.equal(await otherDevice, false, "another device's ack does not count (D6)");
  assert.equal(await later, false, 'times out');
  const cancelled = acks.wait('u1', 'd1', '7', 1000);
  acks.cancelAll();
  assert.equal(await cancelled, false);
});

/** A wire between buses of one test, to show what the buses hand to it and take from it. */
function sharedWire(): Wire & { published: string[] } {
  const listeners = new Map<string, Array<(p: Buffer) => void>>();
  const published: string[] = [];
  return {
    published,
    async listen(channel, onMessage) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), onMessage]);
    },
    async publish(channel, payload) {
      published.push(channel);
      const ls = listeners.get(channel) ?? [];
      const bytes = Buffer.from(payload);
      setImmediate(() => ls.forEach((l) => l(bytes)));
      return ls.length;
    },
  };
}

test("over a wire: a push to another node goes on that node's channel, an unmatched acknowledge on the ack channel", async () => {
  const wire = sharedWire();
  const n1 = new NodeBus('n1', wire, (n) => `node:${n}`, log);
  const n2 = new NodeBus('n2', wire, (n) => `node:${n}`, log);
  await n1.start();
  await n2.start();
  const s = await listen(n2);
  await n1.push({ ...conn, nodeId: 'n2' }, row('11'));
  await n2.push({ ...conn, nodeId: 'n2' }, row('12')); // local: not on the wire
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual([...s.got].sort(), ['11', '12']);
  assert.deepEqual(wire.published, ['node:n2'], 'only the push to the other node');
  await assert.rejects(n1.push({ ...conn, nodeId: 'n3' }, row('13')), /node n3 is gone/);

  // Frames carry ids as protobuf u64: user ids are numbers.
  const a1 = new AckBus(wire, 'acks');
  const a2 = new AckBus(wire, 'acks');
  await a1.start();
  await a2.start();
  const waiting = a1.wait('1', 'd1', '11', 1000);
  await a2.acknowledge('1', 'd1', ['11']);
  assert.equal(await waiting, true, 'resolved on the node that waits');
  assert.deepEqual(wire.published, ['node:n2', 'node:n3', 'acks']);
  const here = a1.wait('1', 'd1', '12', 1000);
  await a1.acknowledge('1', 'd1', ['12']);
  assert.equal(await here, true);
  assert.deepEqual(wire.published, ['node:n2', 'node:n3', 'acks'], 'an acknowledge waited for on its own node is not published');
  await s.close();
});
