import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Attaching } from '../../src/delivery/attaching';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// D14: a sync read waits for the device's attach in progress (engine.syncRead).
test('settled waits for every attach of the device, and only of that device', async () => {
  const a = new Attaching(1000);
  const end1 = a.begin('u', 'd');
  const end2 = a.begin('u', 'd');
  const endOther = a.begin('u', 'other');
  let done = false;
  const wait = a.settled('u', 'd').then(() => (done = true));
  await sleep(10);
  end1();
  await sleep(10);
  assert.equal(done, false, 'one attach of the device is still running');
  end2();
  await wait;
  assert.equal(done, true);
  const t0 = Date.now();
  await a.settled('u', 'd');
  assert.ok(Date.now() - t0 < 500, 'nothing to wait for any more');
  endOther();
  endOther(); // ending twice is harmless
});

test('an attach that never ends holds a sync up for maxWaitMs only', async () => {
  const a = new Attaching(60);
  a.begin('u', 'd');
  const t0 = Date.now();
  await a.settled('u', 'd');
  const waited = Date.now() - t0;
  assert.ok(waited >= 55 && waited < 1000, `waited ${waited} ms`);
});
