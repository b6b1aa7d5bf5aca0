import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryPresence } from '../../src/delivery/memory-presence';

// Presence of an embedded node: the same entries as in Redis, in this process.

const a1 = { connectionId: 's1.1', userId: 'u1', deviceId: 'dA' };
const a2 = { connectionId: 's1.2', userId: 'u1', deviceId: 'dA' }; // a second subscription of the same socket
const b = { connectionId: 's2.1', userId: 'u1', deviceId: 'dB' };
const other = { connectionId: 's3.1', userId: 'u2', deviceId: 'dC' };

test('an entry per subscription, from attach to detach, with this node as its node', async () => {
  const p = new MemoryPresence('n1');
  assert.equal(await p.isOnline('u1'), false);
  await p.attach(a1);
  await p.attach(a2);
  await p.attach(b);
  await p.attach(other);
  assert.equal(p.localCount, 4);
  assert.deepEqual(await p.connectionsOf('u1'), [
    { nodeId: 'n1', connectionId: 's1.1', deviceId: 'dA', userId: 'u1' },
    { nodeId: 'n1', connectionId: 's1.2', deviceId: 'dA', userId: 'u1' },
    { nodeId: 'n1', connectionId: 's2.1', deviceId: 'dB', userId: 'u1' },
  ]);
  await p.detach(a1);
  assert.deepEqual((await p.connectionsOf('u1')).map((c) => c.connectionId), ['s1.2', 's2.1'], 'the other subscription of the device stays');
  assert.equal(await p.isPresent(a1), false);
  assert.equal(await p.isPresent(a2), true);
  assert.equal(await p.isPresent({ ...a2, deviceId: 'dX' }), false, 'the entry is the connection and its device');
  await p.detach(a2);
  await p.detach(b);
  assert.equal(await p.isOnline('u1'), false, 'offline once every subscription detached');
  assert.deepEqual(await p.connectionsOf('u1'), []);
  assert.equal(await p.isOnline('u2'), true);
  assert.equal(p.localCount, 1);
  p.stop();
});

test('connectionsOfMany answers every user asked, offline ones with an empty list, as copies', async () => {
  const p = new MemoryPresence('n1');
  await p.attach(a1);
  await p.attach(other);
  const many = await p.connectionsOfMany(['u1', 'u2', 'nobody']);
  assert.deepEqual([...many.keys()], ['u1', 'u2', 'nobody']);
  assert.deepEqual(many.get('u1')!.map((c) => c.connectionId), ['s1.1']);
  assert.deepEqual(many.get('u2')!.map((c) => c.connectionId), ['s3.1']);
  assert.deepEqual(many.get('nobody'), []);
  many.get('u1')![0].nodeId = 'changed';
  many.get('u1')!.push({ ...other, nodeId: 'x' });
  assert.deepEqual(await p.connectionsOf('u1'), [{ nodeId: 'n1', connectionId: 's1.1', deviceId: 'dA', userId: 'u1' }], "a caller's change does not reach the entries");
  assert.deepEqual(await p.connectionsOfMany([]), new Map());
});

test('attaching the same subscription again keeps one entry; detaching a stranger changes nothing', async () => {
  const p = new MemoryPresence();
  await p.attach(a1);
  await p.attach(a1);
  assert.equal((await p.connectionsOf('u1')).length, 1);
  assert.equal(p.localCount, 1);
  await p.detach(other);
  assert.equal((await p.connectionsOf('u1'))[0].nodeId, 'local');
  assert.equal(p.localCount, 1);
});
