import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageRow } from '../../src/delivery/message-source';
import { NodeBus } from '../../src/delivery/node-bus';
import { aloneWire } from '../../src/delivery/wire';
import { createLogger } from '../../src/logger';

test('a stream with pushQueue values unread: the next push throws, and the transport is told once to close the slow consumer', async () => {
  const bus = new NodeBus('n1', aloneWire, (n) => n, createLogger('silent'), 3);
  const slow: string[] = [];
  bus.onSlowConsumer = (c) => slow.push(c.connectionId);
  const conn = { connectionId: 'c1', userId: 'u1', deviceId: 'd1' };
  const stream = bus.open(conn, (m) => m.id, async () => undefined, async () => undefined);
  const first = stream.next(); // starts the stream; this read takes the first push
  const to = { ...conn, nodeId: 'n1' };
  const row = (id: string) => ({ id, created_at: new Date() }) as unknown as MessageRow;
  await bus.push(to, row('1'));
  assert.equal((await first).value, '1');
  for (const id of ['2', '3', '4']) await bus.push(to, row(id));
  assert.deepEqual(slow, [], 'three waiting is within the queue');
  await assert.rejects(bus.push(to, row('5')), /wait unread/);
  await assert.rejects(bus.push(to, row('6')), /wait unread/);
  assert.deepEqual(slow, ['c1'], 'told once');
  await stream.return?.();
});
