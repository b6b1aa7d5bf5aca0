/**
 * The life of one `messages` subscription (D7, D20), as a pure state machine:
 * which step to run next given what happened. The engine runs the steps
 * (`attaching.ts`) and feeds their outcomes back; nothing here does I/O.
 *
 * The rule it keeps: **a device is present exactly while it has a live
 * `messages` subscription.** Steps of one subscription never overlap, so
 * the order D7 needs holds under every interleaving of subscribe, complete,
 * socket close and the steps' own completions:
 *
 * - attach: fence, then mark present;
 * - detach: mark absent, then fence;
 * - a close that comes while an attach step runs waits for that step, and
 *   the attach goes no further: a close during the fence marks nothing
 *   (and so needs no detach: nothing was present, the fence is done); a close
 *   during the mark, or after a failed mark, detaches (the mark may have
 *   landed);
 * - a close before the stream started does nothing at all.
 */

/** Where a subscription stands. */
export type AttachPhase =
  /** The stream exists; nothing has run. */
  | 'opened'
  /** Attach, step 1: the cursor is being fenced. */
  | 'fencing'
  /** Attach, step 2: the device is being marked present. */
  | 'marking'
  /** Attached: present (and refreshed) until it closes. */
  | 'present'
  /** An attach step failed; the stream ends with its error, and its close follows. */
  | 'failed'
  /** Mark absent, then fence. */
  | 'detaching'
  /** Nothing is or will be present for this subscription. */
  | 'closed';

export interface AttachState {
  phase: AttachPhase;
  /** A close came while an attach step ran; it is honoured when the step ends. */
  closing: boolean;
  /** The mark-present step was started, so an entry may exist and a detach must remove it. */
  marked: boolean;
}

/** What happened: the stream started or closed, or a step ended (`failed`: the running attach step threw). */
export type AttachEvent = 'start' | 'close' | 'fenced' | 'marked' | 'failed' | 'detached';

/** The step to run now, if any; its end is fed back as `fenced`, `marked`/`failed` or `detached`. */
export type AttachStep = 'fence' | 'mark' | 'detach' | null;

export const initialAttach = (): AttachState => ({ phase: 'opened', closing: false, marked: false });

/** Whether the attach is over (present, failed or closed): a sync read waiting for it may go on. */
export const attachSettled = (s: AttachState): boolean => !['opened', 'fencing', 'marking'].includes(s.phase);

const go = (s: AttachState, phase: AttachPhase, run: AttachStep = null) => ({ state: { ...s, phase }, run });

/** After an attach step ended (or a close found none running): detach if something may be present. */
const wind = (s: AttachState) => (s.marked ? go(s, 'detaching', 'detach') : go(s, 'closed'));

/**
 * One transition. Throws on an event that cannot happen in the phase (a
 * step's end with no such step running, a second start): the driver is wrong.
 */
export function stepAttach(s: AttachState, e: AttachEvent): { state: AttachState; run: AttachStep } {
  const bad = () => new Error(`attachment: '${e}' cannot happen while ${s.phase}`);
  switch (e) {
    case 'start':
      if (s.phase !== 'opened') throw bad();
      return go(s, 'fencing', 'fence');
    case 'close':
      if (s.phase === 'opened') return go(s, 'closed');
      if (s.phase === 'fencing' || s.phase === 'marking') return { state: { ...s, closing: true }, run: null };
      if (s.phase === 'present' || s.phase === 'failed') return wind(s);
      return { state: s, run: null }; // detaching or closed: once is enough
    case 'fenced':
      if (s.phase !== 'fencing') throw bad();
      return s.closing ? wind(s) : { state: { ...s, phase: 'marking', marked: true }, run: 'mark' };
    case 'marked':
      if (s.phase !== 'marking') throw bad();
      return s.closing ? wind(s) : go(s, 'present');
    case 'failed':
      if (s.phase !== 'fencing' && s.phase !== 'marking') throw bad();
      return s.closing ? wind(s) : go(s, 'failed');
    case 'detached':
      if (s.phase !== 'detaching') throw bad();
      return go(s, 'closed');
  }
}
