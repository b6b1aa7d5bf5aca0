// Pure planning of one group-commit batch (D1-D3): which requests the batch
// stores and at which seq, and how each conversation head and each sender's
// lastRead move. MessageWriter reads the locked state, calls these, and
// writes the result; the rules are tested on their own (test/unit/message-batch).

import { directKey } from './membership';

export interface BatchRequest {
  senderId: string;
  to: { userId?: string | null; groupId?: string | null };
  clientMsgId: string;
}

/** What the batch's locking reads found, keyed the way placeBatch looks it up. */
export interface LockedState {
  /** conversation id -> head_seq, for every conversation row the batch holds locked */
  heads: ReadonlyMap<string, number>;
  /** direct key ("lo:hi") -> conversation id, for the one-to-one conversations that exist */
  directConversations: ReadonlyMap<string, string>;
  /** "conversationId|userId" of active group members with a valid role */
  groupMembers: ReadonlySet<string>;
  /** "senderId|clientMsgId" already stored (D3) */
  stored: ReadonlySet<string>;
  /** indexes of the requests whose one-to-one D1 check passed (friends, not blocked) */
  allowedDirect: ReadonlySet<number>;
}

export interface Placement {
  index: number;
  conversationId: string;
  seq: number;
}


/**
 * The requests this batch stores, in arrival order, each at its
 * conversation's next seq. A request left out (first message of a
 * conversation, failed D1, not a member, already stored) takes no seq, so
 * seqs stay gapless; the caller stores it alone, which gives its exact answer.
 */
export function placeBatch(reqs: readonly BatchRequest[], s: LockedState): Placement[] {
  const heads = new Map(s.heads);
  const out: Placement[] = [];
  reqs.forEach((r, index) => {
    if (s.stored.has(`${r.senderId}|${r.clientMsgId}`)) return;
    let conversationId: string | undefined;
    if (r.to.userId) {
      if (s.allowedDirect.has(index)) conversationId = s.directConversations.get(directKey(r.senderId, r.to.userId));
    } else if (r.to.groupId != null) {
      const id = String(r.to.groupId);
      if (s.groupMembers.has(`${id}|${r.senderId}`)) conversationId = id;
    }
    if (conversationId === undefined || !heads.has(conversationId)) return;
    const seq = heads.get(conversationId)! + 1;
    heads.set(conversationId, seq);
    out.push({ index, conversationId, seq });
  });
  return out;
}

/** A send as repeatMismatch compares it with the message stored under its (sender, clientMsgId). */
export interface RepeatCandidate extends BatchRequest {
  type: number;
  content: string;
  ext?: string | null;
}

/** The stored fields repeatMismatch reads (a MessageRow has them). */
export interface StoredMessage {
  sender_id: string;
  receiver_id: string | null;
  group_id: string | null;
  type: number;
  content: string;
  ext: string | null;
}

/**
 * D3: what differs between a stored message and a send of the same
 * (sender, clientMsgId); empty for a true repeat, which gets the stored
 * receipt. Anything else is another message under a used clientMsgId, which
 * the sender must hear about (CONFLICT), never get the first message's
 * receipt for. Texts compare exactly: what is stored is what was sent
 * (src/services/text.ts), and ext null and omitted are the same.
 */
export function repeatMismatch(stored: StoredMessage, send: RepeatCandidate): Array<'sender' | 'conversation' | 'type' | 'content' | 'ext'> {
  const out: Array<'sender' | 'conversation' | 'type' | 'content' | 'ext'> = [];
  if (stored.sender_id !== send.senderId) out.push('sender');
  if ((stored.receiver_id ?? null) !== (send.to.userId ?? null) || (stored.group_id ?? null) !== (send.to.groupId ?? null)) out.push('conversation');
  if (Number(stored.type) !== Number(send.type)) out.push('type');
  if (stored.content !== send.content) out.push('content');
  if ((stored.ext ?? null) !== (send.ext ?? null)) out.push('ext');
  return out;
}

/**
 * D2 for a batch: each conversation's head moves to its last seq in the
 * batch, and each sender's lastRead to their own last message there.
 */
export function batchMoves(reqs: readonly BatchRequest[], placed: readonly Placement[]) {
  const heads = new Map<string, number>();
  const reads = new Map<string, { conversationId: string; userId: string; seq: number }>();
  for (const p of placed) {
    heads.set(p.conversationId, Math.max(heads.get(p.conversationId) ?? 0, p.seq));
    const userId = reqs[p.index].senderId;
    const key = `${p.conversationId}|${userId}`;
    if ((reads.get(key)?.seq ?? 0) < p.seq) reads.set(key, { conversationId: p.conversationId, userId, seq: p.seq });
  }
  return { heads: [...heads].map(([conversationId, head]) => ({ conversationId, head })), reads: [...reads.values()] };
}
