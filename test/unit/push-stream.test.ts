import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushStream } from '../../src/delivery/push-stream';

function stream(opts: { failStart?: Error; max?: number } = {}) {
  const log: string[] = [];
  let push!: (v: number) => void;
  const s = new PushStream<number>(
    {
      start: async (p) => {
        push = p;
        log.push('start');
        if (opts.failStart) throw opts.failStart;
      },
      stop: async () => {
        log.push('stop');
      },
    },
    opts.max,
  );
  return { s, log, push: (v: number) => push(v) };
}

test('nothing starts before the first read; values come in push order, also those pushed before a read', async () => {
  const { s, log, push } = stream();
  assert.deepEqual(log, []);
  const first = s.next();
  await Promise.resolve();
  assert.deepEqual(log, ['start']);
  push(1);
  push(2);
  push(3);
  assert.deepEqual(await first, { value: 1, done: false });
  assert.deepEqual(await s.next(), { value: 2, done: false });
  assert.deepEqual(await s.next(), { value: 3, done: false });
  const waiting = s.next();
  push(4);
  assert.deepEqual(await waiting, { value: 4, done: false });
});

test('return ends a waiting read, runs stop once, and later pushes throw (the delivery is not sent)', async () => {
  const { s, log, push } = stream();
  const waiting = s.next();
  await Promise.resolve();
  await s.return();
  await s.return();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  assert.deepEqual(log, ['start', 'stop']);
  assert.throws(() => push(5), /ended/);
});

test('a stream returned before any read never starts nor stops', async () => {
  const { s, log } = stream();
  await s.return();
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  assert.deepEqual(log, []);
});

test('a failed start reaches the reader once, then the stream is done and stopped', async () => {
  const { s, log } = stream({ failStart: new Error('attach failed') });
  await assert.rejects(s.next(), /attach failed/);
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  assert.deepEqual(log, ['start', 'stop']);
});

test('more than max unread values: the push throws and what waits stays readable', async () => {
  const { s, push } = stream({ max: 2 });
  const first = s.next();
  await Promise.resolve();
  push(1); // taken by the waiting read
  push(2);
  push(3);
  assert.throws(() => push(4), /more than 2/);
  assert.deepEqual(await first, { value: 1, done: false });
  assert.deepEqual(await s.next(), { value: 2, done: false });
  assert.deepEqual(await s.next(), { value: 3, done: false });
});

test('a stream returned before any read runs abandon once, instead of start and stop', async () => {
  const log: string[] = [];
  const s = new PushStream<number>({
    start: async () => void log.push('start'),
    stop: async () => void log.push('stop'),
    abandon: async () => void log.push('abandon'),
  });
  await s.return();
  await s.return();
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  assert.deepEqual(log, ['abandon']);
});
