import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryQueue } from '../../src/delivery/memory-queue';
import type { QueueJob } from '../../src/delivery/queues';

// The in-process stand-in for bee-queue (embedded mode): the semantics the engine relies on.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` holds (checked every few ms), or fails after `ms`. */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(2);
  }
}

/** A queue with a handler that records each run; `behave` decides each run's outcome. */
function recording(behave: (job: QueueJob<string>, run: number) => Promise<unknown> = async () => undefined, concurrency = 1) {
  const q = new MemoryQueue<string>('t');
  const runs: Array<{ id: string; data: string; at: number }> = [];
  const events: string[] = [];
  for (const e of ['succeeded', 'retrying', 'failed', 'failed:fatal'] as const) q.on(e as 'failed', (job) => events.push(`${e}:${job.id}`));
  q.process(concurrency, (job) => {
    runs.push({ id: job.id, data: job.data, at: performance.now() });
    return behave(job, runs.filter((r) => r.id === job.id).length);
  });
  return { q, runs, events };
}

test('ids: a job saved again while waiting, running or delayed is a no-op; once it is done the id is free again', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { q, runs, events } = recording(async (job, n) => {
    if (job.id === 'a' && n === 1) await gate;
    if (job.id === 'b' && n === 1) throw new Error('once');
  });
  await q.saveAll([q.createJob('a1').setId('a'), q.createJob('a2').setId('a')]); // twice in one batch
  await until(() => runs.length === 1);
  await q.saveAll([q.createJob('a3').setId('a')]); // while running
  await q.saveAll([q.createJob('b1').setId('b').retries(1).backoff('fixed', 40)]);
  release();
  await until(() => events.includes('retrying:b'));
  await q.saveAll([q.createJob('b2').setId('b')]); // while waiting for its retry
  await until(() => events.includes('succeeded:b'));
  assert.deepEqual(runs.map((r) => r.data), ['a1', 'b1', 'b1'], 'each id ran once (b twice: its retry), with its first data');
  await q.saveAll([q.createJob('a4').setId('a')]);
  await until(() => runs.length === 4);
  assert.equal(runs[3].data, 'a4', 'a finished id can be used again');
  const auto = [q.createJob('x'), q.createJob('y')];
  await q.saveAll(auto);
  assert.ok(auto[0].id && auto[1].id && auto[0].id !== auto[1].id, 'jobs without an id get distinct ones');
  await until(() => runs.length === 6);
  await q.close();
});

test('retries: a failing job runs 1 + retries times, after exponential (doubling) or fixed backoffs, then fails for good', async () => {
  const { q, runs, events } = recording(async () => {
    throw new Error('down');
  });
  await q.saveAll([q.createJob('e').setId('e').retries(3).backoff('exponential', 30)]);
  await until(() => events.includes('failed:fatal:e'));
  await q.saveAll([q.createJob('f').setId('f').retries(2).backoff('fixed', 30)]);
  await until(() => events.includes('failed:fatal:f'));
  const gaps = (id: string) => runs.filter((r) => r.id === id).map((r, i, all) => (i ? r.at - all[i - 1].at : 0)).slice(1);
  const e = gaps('e');
  const f = gaps('f');
  assert.equal(e.length, 3, 'exponential: 4 runs');
  assert.equal(f.length, 2, 'fixed: 3 runs');
  // Timers fire no earlier than asked, and a little later under load.
  [30, 60, 120].forEach((want, i) => assert.ok(e[i] >= want - 2 && e[i] < want + 25, `exponential gap ${i}: ${e[i].toFixed(1)} ms, want ${want}`));
  f.forEach((g, i) => assert.ok(g >= 28 && g < 55, `fixed gap ${i}: ${g.toFixed(1)} ms, want 30`));
  assert.deepEqual(
    events.filter((x) => x.endsWith(':e')),
    ['retrying:e', 'failed:e', 'retrying:e', 'failed:e', 'retrying:e', 'failed:e', 'failed:e', 'failed:fatal:e'],
    "bee-queue 2's events: failed after every failed run, retrying before it, failed:fatal after the last",
  );
  await q.close();
});

test('at least once: a job that fails runs again until it succeeds, and one without retries fails once', async () => {
  const { q, runs, events } = recording(async (job, n) => {
    if (job.id === 'flaky' && n < 3) throw new Error(`run ${n}`);
    if (job.id === 'once') throw new Error('no luck');
  });
  await q.saveAll([q.createJob('f').setId('flaky').retries(5).backoff('fixed', 5), q.createJob('o').setId('once')]);
  await until(() => events.includes('succeeded:flaky') && events.includes('failed:fatal:once'));
  assert.equal(runs.filter((r) => r.id === 'flaky').length, 3);
  assert.equal(runs.filter((r) => r.id === 'once').length, 1);
  assert.ok(!events.includes('failed:fatal:flaky'));
  await q.close();
});

test('a handler that throws at once fails its run like one that rejects', async () => {
  const q = new MemoryQueue<string>('sync-throw');
  const failed: string[] = [];
  q.on('failed', (_job, err) => failed.push(err.message));
  let n = 0;
  q.process(1, () => {
    n++;
    throw new Error('sync');
  });
  await q.saveAll([q.createJob('x').retries(1)]);
  await until(() => failed.length === 2);
  assert.equal(n, 2);
  assert.deepEqual(failed, ['sync', 'sync']);
  await q.close();
});

test('timeout: a run longer than the job timeout counts as failed, frees its slot and is retried', async () => {
  const errors: string[] = [];
  const { q, runs, events } = recording(async (job) => {
    if (job.id === 'slow') await sleep(1000);
  });
  q.on('failed', (_job, err) => errors.push(err.message));
  await q.saveAll([q.createJob('s').setId('slow').timeout(30).retries(1), q.createJob('q').setId('quick').timeout(500)]);
  await until(() => events.includes('failed:fatal:slow'), 1500);
  assert.deepEqual(runs.map((r) => r.id), ['slow', 'quick', 'slow'], 'timed out, the next job ran, the rerun timed out too');
  assert.match(errors[0], /job slow did not finish within 30 ms/);
  assert.deepEqual(events.filter((e) => e.startsWith('succeeded')), ['succeeded:quick']);
  await q.close(100); // the timed-out runs are not waited for
});

test('a run within its timeout succeeds', async () => {
  const { q, events } = recording(() => sleep(10));
  await q.saveAll([q.createJob('a').setId('a').timeout(200)]);
  await until(() => events.includes('succeeded:a'));
  await q.close();
});

test('concurrency: at most that many runs at a time, in the order saved', async () => {
  let now = 0;
  let most = 0;
  const { q, runs } = recording(async () => {
    most = Math.max(most, ++now);
    await sleep(10);
    now--;
  }, 3);
  await q.saveAll(Array.from({ length: 10 }, (_, i) => q.createJob(String(i)).setId(String(i))));
  await until(() => runs.length === 10);
  await until(() => now === 0);
  assert.equal(most, 3);
  assert.deepEqual(runs.map((r) => r.data), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await q.close();
});

test('close: waits for running jobs, starts nothing more, drops what waits, refuses new jobs', async () => {
  let finished = 0;
  const { q, runs } = recording(async (job) => {
    if (job.id === 'retry') throw new Error('later');
    await sleep(50);
    finished++;
  }, 1);
  await q.saveAll([q.createJob('r').setId('retry').retries(3).backoff('fixed', 20), q.createJob('a').setId('a'), q.createJob('b').setId('b')]);
  await until(() => runs.length === 2); // retry failed (its rerun waits 20 ms), a runs, b waits
  const t0 = performance.now();
  await q.close(1000);
  assert.ok(performance.now() - t0 >= 30, 'close waited for the running job');
  assert.equal(finished, 1);
  assert.deepEqual(await q.checkHealth(), { waiting: 0, active: 0, delayed: 0, failed: 0, succeeded: 0 }, 'the waiting job and the retry timer are dropped');
  await sleep(60);
  assert.deepEqual(runs.map((r) => r.id), ['retry', 'a'], 'neither the waiting job nor the delayed retry ran after close');
  await assert.rejects(q.saveAll([q.createJob('c')]), /closed/);
  assert.equal(await q.close(), undefined, 'close is idempotent');
});

test('close: rejects when a running job outlasts its timeout', async () => {
  const { q, runs } = recording(() => sleep(300));
  await q.saveAll([q.createJob('a')]);
  await until(() => runs.length === 1);
  await assert.rejects(q.close(30), /did not finish within 30 ms/);
});

test('checkHealth counts waiting, running and delayed jobs; a job option out of range throws', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { q, events } = recording(async (job) => {
    if (job.id === 'd') throw new Error('later');
    await gate;
  });
  await q.saveAll([q.createJob('d').setId('d').retries(1).backoff('fixed', 200), q.createJob('a').setId('a'), q.createJob('b').setId('b')]);
  await until(() => events.includes('retrying:d'));
  assert.deepEqual(await q.checkHealth(), { waiting: 1, active: 1, delayed: 1, failed: 0, succeeded: 0 });
  assert.equal(await q.checkStalledJobs(1000), 0);
  release();
  assert.throws(() => q.createJob('x').retries(-1), /negative/);
  assert.throws(() => q.createJob('x').backoff('fixed', 0), /positive integer/);
  assert.throws(() => q.createJob('x').backoff('linear' as 'fixed', 10), /unknown strategy/);
  assert.throws(() => q.createJob('x').timeout(-1), /negative/);
  await q.close();
});
