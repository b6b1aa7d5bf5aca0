// The sync token (D13): the server's own record of what a sync read saw,
// carried by the client to acknowledgeSync. Signed so a client cannot forge
// a fresher version or a larger maxId; bound to (user, device) so one device's
// token cannot confirm another's backlog.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SyncTokenFields } from './cursor';

const PREFIX = 'st1';
const MAC_BYTES = 16;
const DECIMAL = /^(0|[1-9][0-9]{0,39})$/;

// n and b (the batch's size and digest, D13e) are absent from tokens issued before them.
type Wire = { u: string; d: string; r: string; m: string; v: number; p: 0 | 1; h: 0 | 1; n?: number; b?: string };

function mac(secret: Buffer, payload: string): Buffer {
  // The prefix is inside the MAC so a future format cannot be confused with this one.
  return createHmac('sha256', secret).update(`${PREFIX}.${payload}`).digest().subarray(0, MAC_BYTES);
}

export function encodeSyncToken(fields: SyncTokenFields, secret: Buffer): string {
  if (secret.length === 0) throw new Error('sync token secret must not be empty');
  const wire: Wire = {
    u: fields.userId,
    d: fields.deviceId,
    r: fields.readLastAck.toString(),
    m: fields.maxId.toString(),
    v: fields.version,
    p: fields.present ? 1 : 0,
    h: fields.hasMore ? 1 : 0,
    n: fields.count,
    b: fields.digest,
  };
  const payload = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
  return `${PREFIX}.${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** null for anything not made by encodeSyncToken with this secret for this very user and device. */
export function decodeSyncToken(
  token: string,
  secret: Buffer,
  expected: { readonly userId: string; readonly deviceId: string },
): SyncTokenFields | null {
  if (typeof token !== 'string' || token.length > 4096 || secret.length === 0) return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return null;
  const [, payload, sig] = parts;
  const given = Buffer.from(sig, 'base64url');
  const want = mac(secret, payload);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  let w: unknown;
  try {
    w = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!isWire(w)) return null;
  if (w.u !== expected.userId || w.d !== expected.deviceId) return null;
  return {
    userId: w.u,
    deviceId: w.d,
    readLastAck: BigInt(w.r),
    maxId: BigInt(w.m),
    version: w.v,
    present: w.p === 1,
    hasMore: w.h === 1,
    // A token without them can confirm nothing without a live socket: its verify always fails.
    count: w.n ?? -1,
    digest: w.b ?? '',
  };
}

// A valid MAC already rules out tampering; this guards against our own older or buggy encoders.
function isWire(x: unknown): x is Wire {
  if (typeof x !== 'object' || x === null) return false;
  const w = x as Record<string, unknown>;
  return (
    typeof w.u === 'string' &&
    typeof w.d === 'string' &&
    typeof w.r === 'string' &&
    DECIMAL.test(w.r) &&
    typeof w.m === 'string' &&
    DECIMAL.test(w.m) &&
    Number.isSafeInteger(w.v) &&
    (w.v as number) >= 0 &&
    (w.p === 0 || w.p === 1) &&
    (w.h === 0 || w.h === 1) &&
    (w.n === undefined || (Number.isSafeInteger(w.n) && (w.n as number) >= -1)) &&
    (w.b === undefined || (typeof w.b === 'string' && w.b.length <= 64))
  );
}
