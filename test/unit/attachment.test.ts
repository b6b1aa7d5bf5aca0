import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Attachment } from '../../src/delivery/attaching';
import { type AttachState, type AttachStep, attachSettled, initialAttach, stepAttach } from '../../src/delivery/rules/attachment';

// D7/D20: a device is present exactly while it has a live `messages` subscription.
// The checker below walks every interleaving of one subscription's stream events
// (start, close, each at any moment, or never) with its steps' outcomes (each step
// succeeds or fails; a failed mark may or may not have landed in Redis, a failed
// detach may or may not have removed the entry) and checks, in every state and at
// every quiescent end:
// - steps never overlap, and D7's order holds: a mark only after this attach's fence
//   completed; a detach removes the entry before it fences;
// - a closed subscription ends with no entry renewed by the node, and no entry at
//   all unless its detach failed (that one lapses within PRESENCE_TTL_S);
// - a started, unclosed subscription whose steps worked ends present (and renewed);
// - the attach settles (sync waiters released) exactly once, whenever the stream
//   started or closed.

type Machine = (s: AttachState, e: Parameters<typeof stepAttach>[1]) => ReturnType<typeof stepAttach>;

interface World {
  s: AttachState;
  running: Exclude<AttachStep, null> | null;
  streamStarted: boolean;
  streamClosed: boolean;
  /** The Redis entry exists. */
  entry: boolean;
  /** The node holds it (and renews it). */
  renewed: boolean;
  /** A fence completed in this attach, and no mark began after it... */
  fencedForMark: boolean;
  detachFailed: boolean;
  settles: number;
  anyFailure: boolean;
  trace: string[];
}

function explore(machine: Machine): { states: number; violation: string | null } {
  let states = 0;
  const fail = (w: World, why: string) => `${why}\n  after: ${w.trace.join(' → ')}\n  state: ${JSON.stringify(w.s)}`;

  const apply = (w: World, e: Parameters<typeof stepAttach>[1], label: string): World | string => {
    const before = attachSettled(w.s);
    let r: ReturnType<typeof stepAttach>;
    try {
      r = machine(w.s, e);
    } catch (err) {
      return fail(w, `the machine threw on ${e}: ${(err as Error).message}`);
    }
    const n: World = { ...w, s: r.state, trace: [...w.trace, label] };
    if (!before && attachSettled(r.state)) n.settles++;
    if (r.run) {
      if (n.running) return fail(n, `step ${r.run} issued while ${n.running} still runs`);
      n.running = r.run;
      if (r.run === 'mark' && !n.fencedForMark) return fail(n, 'a mark began with no completed fence before it (D7)');
      if (r.run === 'mark') n.fencedForMark = false;
      if (r.run === 'detach') n.renewed = false; // Presence.detach stops renewing before its first await
    }
    return n;
  };

  const visit = (w: World): string | null => {
    states++;
    if (w.settles > 1) return fail(w, 'the attach settled twice');
    const moves: Array<() => World | string> = [];
    if (!w.streamStarted && !w.streamClosed) moves.push(() => apply({ ...w, streamStarted: true }, 'start', 'start'));
    if (!w.streamClosed) moves.push(() => apply({ ...w, streamClosed: true }, 'close', 'close'));
    if (w.running === 'fence') {
      moves.push(() => apply({ ...w, running: null, fencedForMark: true }, 'fenced', 'fence ok'));
      moves.push(() => apply({ ...w, running: null, anyFailure: true }, 'failed', 'fence fails'));
    }
    if (w.running === 'mark') {
      moves.push(() => apply({ ...w, running: null, entry: true, renewed: true }, 'marked', 'mark ok'));
      moves.push(() => apply({ ...w, running: null, anyFailure: true }, 'failed', 'mark fails'));
      moves.push(() => apply({ ...w, running: null, entry: true, anyFailure: true }, 'failed', 'mark fails after landing'));
    }
    if (w.running === 'detach') {
      // Mark absent, then fence: the entry is gone before the fence runs.
      moves.push(() => apply({ ...w, running: null, entry: false }, 'detached', 'detach ok'));
      moves.push(() => apply({ ...w, running: null, detachFailed: true }, 'detached', 'detach fails'));
      moves.push(() => apply({ ...w, running: null, entry: false, detachFailed: true }, 'detached', 'detach fails at its fence'));
    }
    if (!moves.length) {
      // Quiescent: nothing runs and no stream event is left.
      if (w.streamClosed) {
        if (w.s.phase !== 'closed') return fail(w, `closed stream ends in phase ${w.s.phase}`);
        if (w.renewed) return fail(w, 'the node renews the entry of a closed subscription');
        if (w.entry && !w.detachFailed) return fail(w, 'a closed subscription is left present');
      } else if (w.streamStarted && !w.anyFailure) {
        if (w.s.phase !== 'present' || !w.entry || !w.renewed) return fail(w, 'a live subscription is not present');
      }
      if ((w.streamStarted || w.streamClosed) && w.settles !== 1) return fail(w, `settled ${w.settles} times`);
      return null;
    }
    for (const m of moves) {
      const n = m();
      if (typeof n === 'string') return n;
      const v = visit(n);
      if (v) return v;
    }
    return null;
  };

  const violation = visit({
    s: initialAttach(),
    running: null,
    streamStarted: false,
    streamClosed: false,
    entry: false,
    renewed: false,
    fencedForMark: false,
    detachFailed: false,
    settles: 0,
    anyFailure: false,
    trace: [],
  });
  return { states, violation };
}

test('D7/D20: over every interleaving of start, close and step outcomes, present exactly while live', () => {
  const r = explore(stepAttach);
  assert.equal(r.violation, null, r.violation ?? '');
  assert.ok(r.states > 30, `explored only ${r.states} states`);
});

test('the checker catches an attach that marks present although a close came during its fence', () => {
  // The original engine: the detach ran beside the attach, which went on to mark present.
  const marksAnyway: Machine = (s, e) => (e === 'fenced' && s.closing ? stepAttach({ ...s, closing: false }, e) : stepAttach(s, e));
  const r = explore(marksAnyway);
  assert.match(r.violation ?? '', /closed/);
  console.log(r.violation);
});

test('the checker catches a detach that does not wait for the running attach step', () => {
  const overlapping: Machine = (s, e) =>
    e === 'close' && (s.phase === 'fencing' || s.phase === 'marking') ? { state: { ...s, phase: 'detaching' }, run: 'detach' } : stepAttach(s, e);
  const r = explore(overlapping);
  assert.notEqual(r.violation, null);
});

// The driver (Attachment) against steps whose ends the test controls.

function controlled() {
  const calls: string[] = [];
  const pending = new Map<string, { resolve(): void; reject(e: unknown): void }>();
  const step = (name: string) => () => {
    calls.push(name);
    return new Promise<void>((resolve, reject) => pending.set(name, { resolve, reject }));
  };
  let settled = 0;
  const a = new Attachment({ fence: step('fence'), mark: step('mark'), detach: step('detach') }, () => settled++);
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    a,
    calls,
    settled: () => settled,
    async end(name: string, err?: Error) {
      const p = pending.get(name)!;
      pending.delete(name);
      if (err) p.reject(err);
      else p.resolve();
      await tick();
    },
    tick,
  };
}

test('a close during the fence: no mark, no detach, the attach settles and both calls resolve', async () => {
  const c = controlled();
  const started = c.a.start();
  const closed = c.a.close();
  assert.equal(c.settled(), 0, 'the sync waiters wait for the running fence');
  await c.end('fence');
  await started;
  await closed;
  assert.deepEqual(c.calls, ['fence']);
  assert.equal(c.a.phase, 'closed');
  assert.equal(c.settled(), 1);
});

test('a close during the mark: the detach runs after the mark ends, not beside it', async () => {
  const c = controlled();
  const started = c.a.start();
  await c.end('fence');
  assert.deepEqual(c.calls, ['fence', 'mark']);
  const closed = c.a.close();
  await c.tick();
  assert.deepEqual(c.calls, ['fence', 'mark'], 'no detach while the mark runs');
  await c.end('mark');
  await started;
  assert.deepEqual(c.calls, ['fence', 'mark', 'detach']);
  let done = false;
  void closed.then(() => (done = true));
  await c.tick();
  assert.equal(done, false, 'close resolves only once the detach did');
  await c.end('detach');
  await closed;
  assert.equal(c.a.phase, 'closed');
  assert.equal(c.settled(), 1);
});

test('closed before it started: nothing runs, and the sync waiters are released', async () => {
  const c = controlled();
  await c.a.close();
  assert.deepEqual(c.calls, []);
  assert.equal(c.settled(), 1);
});

test('a failed mark rejects start; the close then detaches (the mark may have landed); a failed detach rejects close', async () => {
  const c = controlled();
  const started = c.a.start();
  await c.end('fence');
  await c.end('mark', new Error('redis down'));
  await assert.rejects(started, /redis down/);
  assert.equal(c.a.phase, 'failed');
  const closed = c.a.close();
  assert.deepEqual(c.calls, ['fence', 'mark', 'detach']);
  await c.end('detach', new Error('still down'));
  await assert.rejects(closed, /still down/);
  assert.equal(c.a.phase, 'closed');
});

test('a failed fence rejects start and its close detaches nothing (nothing was marked)', async () => {
  const c = controlled();
  const started = c.a.start();
  await c.end('fence', new Error('db down'));
  await assert.rejects(started, /db down/);
  await c.a.close();
  assert.deepEqual(c.calls, ['fence']);
});
