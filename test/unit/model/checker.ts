// Exhaustive model checker for D10 over every interleaving of a small case:
// one user, one device, N messages whose ids are allocated in send order but
// which may commit in any order, each with a delivery job; a device that
// connects, disconnects once, reconnects, sync-reads in pages and sync-acks
// (or, socketless, never opens a socket and catches up over HTTP only). An
// ack without a live socket is two steps, its guarded write and then its
// check of the ids visible (D13e: verify read, verify write), and anything
// may run in between. Breadth-first, so the counterexample printed is a
// shortest one.
import {
  type Cursor,
  type RuleSet,
  type SyncTokenFields,
  initialCursor,
  syncRead,
} from '../../../src/delivery/rules';

export interface ModelRules {
  readonly name: string;
  readonly rules: RuleSet;
  /** Split every cursor write into a read step and a later write of f(snapshot) (the predecessor's JS update). */
  readonly readModifyWrite?: boolean;
}

export interface ModelOptions {
  readonly messages?: number;
  readonly syncLimit?: number;
  /** How many disconnect + reconnect cycles the device may go through. */
  readonly reconnects?: number;
  /** The device never opens a socket: HTTP-only sync reads and acks, also in the closing protocol. */
  readonly socketless?: boolean;
}

export interface Violation {
  readonly message: string;
  readonly trace: string[];
}

export interface CheckResult {
  readonly states: number;
  readonly violation: Violation | null;
}

type Outcome = 'success' | 'failure' | 'offline';
// Job phases: 0 unsent, 1 sent (id taken, invisible), 2 committed (job may run),
// 3 outcome known and cursor write pending, 4 ended.
interface Job {
  readonly phase: 0 | 1 | 2 | 3 | 4;
  readonly outcome: Outcome | null;
  readonly snap: Cursor | null;
}
interface Batch {
  readonly token: SyncTokenFields;
  /** The subscription present at read time has gone since (presentNow must be false). */
  readonly moved: boolean;
}
/** An ack whose write came back with `verify` (D13e); late: the check's read found a late commit, its write is pending. */
interface Verify {
  readonly token: SyncTokenFields;
  readonly late: boolean;
}
type DeviceOp =
  | { readonly kind: 'connect' | 'disconnect'; readonly snap: Cursor }
  | { readonly kind: 'syncAck'; readonly snap: Cursor; readonly token: SyncTokenFields; readonly presentNow: boolean };
interface State {
  readonly jobs: readonly Job[];
  readonly cursor: Cursor;
  readonly attached: boolean;
  readonly connects: number;
  readonly disconnects: number;
  readonly held: number; // bit i-1 set: the device holds id i
  readonly batch: Batch | null;
  readonly op: DeviceOp | null; // device's cursor write half done (read-modify-write only)
  readonly verifying: readonly Verify[]; // an ack between its write and its check (one: the client awaits each ack)
}

/** Ids committed so far (all of the user's conversations: one user, every id visible). */
const committed = (s: State): bigint[] => s.jobs.flatMap((j, i) => (j.phase >= 2 ? [BigInt(i + 1)] : []));

const USER = 'u';
const DEVICE = 'd';

export function showCursor(c: Cursor): string {
  return `[ack=${c.lastAck} err=${c.lastAckErr ?? '-'} v=${c.version}]`;
}

function keyOf(s: State): string {
  const cur = (c: Cursor | null) => (c === null ? '' : `${c.lastAck}/${c.lastAckErr ?? '-'}/${c.version}`);
  const tok = (t: SyncTokenFields) =>
    `${t.readLastAck}/${t.maxId}/${t.version}/${+t.present}/${+t.hasMore}/${t.count}/${t.digest}`;
  const jobs = s.jobs.map((j) => `${j.phase}${j.outcome?.[0] ?? ''}${cur(j.snap)}`).join(',');
  const batch = s.batch === null ? '' : `${tok(s.batch.token)}/${+s.batch.moved}`;
  const op = s.op === null ? '' : `${s.op.kind}/${cur(s.op.snap)}/${s.op.kind === 'syncAck' ? `${tok(s.op.token)}/${+s.op.presentNow}` : ''}`;
  const ver = s.verifying.map((v) => `${tok(v.token)}/${+v.late}`).join(',');
  return `${jobs}|${cur(s.cursor)}|${+s.attached}${s.connects}${s.disconnects}|${s.held}|${batch}|${op}|${ver}`;
}

interface Step {
  readonly label: string;
  readonly next: State;
}

function successors(s: State, m: ModelRules, limit: number, reconnects: number, socketless: boolean): Step[] {
  const r = m.rules;
  const rmw = m.readModifyWrite === true;
  const out: Step[] = [];
  const withJob = (i: number, job: Job, extra: Partial<State> = {}): State => ({
    ...s,
    ...extra,
    jobs: s.jobs.map((j, k) => (k === i ? job : j)),
  });
  const add = (label: string, next: State) => out.push({ label: `${label} ${showCursor(next.cursor)}`, next });
  const writeOf = (o: Outcome, id: bigint): ((c: Cursor) => Cursor) | null => {
    if (o === 'success') return (c) => r.success(c, id);
    if (o === 'failure') return (c) => r.failure(c, id);
    return (c) => r.offline(c, id);
  };

  s.jobs.forEach((job, i) => {
    const id = BigInt(i + 1);
    if (job.phase === 0 && (i === 0 || s.jobs[i - 1].phase >= 1)) {
      add(`send${id}`, withJob(i, { ...job, phase: 1 }));
    } else if (job.phase === 1) {
      add(`commit${id}`, withJob(i, { ...job, phase: 2 }));
    } else if (job.phase === 2) {
      // The outcome depends on whether a subscription is present when the job runs.
      const outcomes: Outcome[] = s.attached ? ['success', 'failure'] : ['offline'];
      for (const o of outcomes) {
        const held = o === 'success' ? s.held | (1 << i) : s.held;
        const pending = writeOf(o, id) !== null;
        const next: Job = { phase: pending ? 3 : 4, outcome: o, snap: pending && rmw ? s.cursor : null };
        add(`push${id}:${o}${pending && rmw ? ':read' : ''}`, withJob(i, next, { held }));
      }
    } else if (job.phase === 3) {
      const f = writeOf(job.outcome!, id)!;
      // A JS read-modify-write that computes no change saves nothing (rules return their input then).
      const computed = f(rmw ? job.snap! : s.cursor);
      const cursor = rmw && computed === job.snap ? s.cursor : computed;
      const noop = cursor === s.cursor ? ' (no change)' : '';
      add(`push${id}:${job.outcome}:write${noop}`, withJob(i, { ...job, phase: 4, snap: null }, { cursor }));
    }
  });

  if (s.op !== null) {
    // Second half of a read-modify-write by the device.
    const op = s.op;
    if (op.kind === 'syncAck') {
      const res = r.syncAck(op.snap, op.token, op.token.maxId, op.presentNow);
      const verifying = res.verify ? [...s.verifying, { token: op.token, late: false }] : s.verifying;
      add(`syncAck:write(accepted=${res.accepted})`, { ...s, cursor: res.cursor, op: null, verifying });
    } else {
      add(`${op.kind}:write`, { ...s, cursor: r.fence(op.snap), attached: op.kind === 'connect', op: null });
    }
    return out;
  }
  // D13e: the check of an ack without a live socket, read (ids visible now) and write (a failure) apart.
  s.verifying.forEach((v, k) => {
    const rest = s.verifying.filter((_, j) => j !== k);
    if (v.late) {
      add(`verify(${v.token.maxId}):write`, { ...s, cursor: r.failure(s.cursor, v.token.readLastAck + 1n), verifying: rest });
      return;
    }
    const after = r.verifyAck(s.cursor, v.token, committed(s));
    // The rule under test decides; a late commit found is written by a later step.
    const late = after !== s.cursor;
    add(`verify(${v.token.maxId}):read${late ? '(late commit)' : ''}`, {
      ...s,
      verifying: late ? s.verifying.map((w, j) => (j === k ? { ...w, late: true } : w)) : rest,
    });
  });
  if (!socketless && !s.attached && s.connects <= s.disconnects && s.connects <= reconnects) {
    if (rmw) add('connect:read', { ...s, connects: s.connects + 1, op: { kind: 'connect', snap: s.cursor } });
    else add('connect', { ...s, cursor: r.fence(s.cursor), attached: true, connects: s.connects + 1 });
  }
  if (s.attached && s.disconnects < reconnects) {
    const base = { ...s, attached: false, disconnects: s.disconnects + 1, batch: s.batch && { ...s.batch, moved: true } };
    if (rmw) add('disconnect:read', { ...base, op: { kind: 'disconnect', snap: s.cursor } });
    else add('disconnect', { ...base, cursor: r.fence(s.cursor) });
  }
  // The client may read while not attached; its token then says present=false.
  const read = syncRead(s.cursor, committed(s), limit);
  const readHeld = read.ids.reduce((h, id) => h | (1 << Number(id - 1n)), s.held);
  const token: SyncTokenFields = { userId: USER, deviceId: DEVICE, ...read, present: s.attached };
  add(`syncRead[${read.ids.join(',')}]${read.hasMore ? '+more' : ''}${s.attached ? '' : '(absent)'}`, {
    ...s,
    held: readHeld,
    batch: { token, moved: false },
  });
  if (s.batch !== null && s.verifying.length < 1) {
    const b = s.batch;
    const presentNow = s.attached && !b.moved;
    if (rmw) {
      add(`syncAck(${b.token.maxId}):read`, { ...s, batch: null, op: { kind: 'syncAck', snap: s.cursor, token: b.token, presentNow } });
    } else {
      const res = r.syncAck(s.cursor, b.token, b.token.maxId, presentNow);
      const verifying = res.verify ? [...s.verifying, { token: b.token, late: false }] : s.verifying;
      add(`syncAck(${b.token.maxId})(accepted=${res.accepted}${res.verify ? ', verify' : ''})`, { ...s, cursor: res.cursor, batch: null, verifying });
    }
  }
  return out;
}

/**
 * D10 for the ids whose jobs, and all lower ids' jobs, have ended; while an
 * ack is between its write and its check (D13e) the check may still lower
 * lastAck, so D10 is held to once it has run.
 */
function checkD10(s: State): string | null {
  if (s.verifying.length) return null;
  for (let i = 0; i < s.jobs.length && s.jobs[i].phase === 4; i++) {
    const id = BigInt(i + 1);
    if ((s.held & (1 << i)) === 0 && id <= s.cursor.lastAck) {
      return `D10: id ${id} committed and its job ended, not held by the device, yet lastAck=${s.cursor.lastAck}`;
    }
  }
  return null;
}

/**
 * The device's closing protocol (D14): connect if needed, then sync pages
 * until one is empty. A socketless device syncs without connecting, and each
 * ack's check follows its write at once (every job has ended).
 */
function finish(s: State, m: ModelRules, limit: number, socketless: boolean): { trace: string[]; error: string | null } {
  const trace: string[] = [];
  let cursor = s.cursor;
  let held = s.held;
  if (!s.attached && !socketless) {
    cursor = m.rules.fence(cursor);
    trace.push(`final connect ${showCursor(cursor)}`);
  }
  const all = s.jobs.map((_, i) => BigInt(i + 1));
  for (let round = 0; round <= all.length + 1; round++) {
    const read = syncRead(cursor, all, limit);
    if (read.ids.length === 0) {
      const state: State = { ...s, cursor, held };
      const error = checkD10(state) ?? (held === (1 << all.length) - 1 ? null : `final sync did not return every id (held mask ${held.toString(2)})`);
      return { trace, error };
    }
    for (const id of read.ids) held |= 1 << Number(id - 1n);
    const token: SyncTokenFields = { userId: USER, deviceId: DEVICE, ...read, present: !socketless };
    const res = m.rules.syncAck(cursor, token, read.maxId, !socketless);
    cursor = res.verify ? m.rules.verifyAck(res.cursor, token, all) : res.cursor;
    trace.push(`final syncRead[${read.ids.join(',')}] syncAck(${read.maxId})(accepted=${res.accepted}) ${showCursor(cursor)}`);
    if (!res.accepted) return { trace, error: 'final sync ack refused with nothing in between (no progress, D13c)' };
  }
  return { trace, error: 'final sync did not finish' };
}

export function check(m: ModelRules, opts: ModelOptions = {}): CheckResult {
  const n = opts.messages ?? 3;
  const limit = opts.syncLimit ?? 2;
  const reconnects = opts.reconnects ?? 1;
  const socketless = opts.socketless === true;
  const init: State = {
    jobs: Array.from({ length: n }, () => ({ phase: 0 as const, outcome: null, snap: null })),
    cursor: initialCursor,
    attached: false,
    connects: 0,
    disconnects: 0,
    held: 0,
    batch: null,
    op: null,
    verifying: [],
  };
  const parent = new Map<string, { from: string | null; label: string }>();
  const traceTo = (key: string): string[] => {
    const labels: string[] = [];
    for (let k: string | null = key; k !== null; ) {
      const p: { from: string | null; label: string } = parent.get(k)!;
      if (p.from !== null) labels.push(p.label);
      k = p.from;
    }
    return labels.reverse();
  };
  const initKey = keyOf(init);
  parent.set(initKey, { from: null, label: 'start' });
  let queue: Array<[string, State]> = [[initKey, init]];
  while (queue.length > 0) {
    const nextQueue: Array<[string, State]> = [];
    for (const [key, s] of queue) {
      const bad = checkD10(s);
      if (bad !== null) return { states: parent.size, violation: { message: bad, trace: traceTo(key) } };
      if (s.op === null && !s.verifying.length && s.jobs.every((j) => j.phase === 4)) {
        const f = finish(s, m, limit, socketless);
        if (f.error !== null) return { states: parent.size, violation: { message: f.error, trace: [...traceTo(key), ...f.trace] } };
      }
      for (const step of successors(s, m, limit, reconnects, socketless)) {
        const k = keyOf(step.next);
        if (parent.has(k)) continue;
        parent.set(k, { from: key, label: step.label });
        nextQueue.push([k, step.next]);
      }
    }
    queue = nextQueue;
  }
  return { states: parent.size, violation: null };
}

export function formatViolation(name: string, v: Violation): string {
  return [`counterexample for ${name}: ${v.message}`, ...v.trace.map((t, i) => `  ${String(i + 1).padStart(2)}. ${t}`)].join('\n');
}
