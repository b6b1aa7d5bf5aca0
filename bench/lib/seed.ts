import type { Pool } from 'mariadb';

const DIRECT = 1;
const TEXT = 1;
const FAKE_USER_BASE = 900_000_000;
const ROWS_PER_INSERT = 1000;

export interface SeedResult { mineFrom: number; mineTo: number; seconds: number }

async function conversation(pool: Pool, a: number, b: number, head: number): Promise<number> {
  const key = a < b ? `${a}:${b}` : `${b}:${a}`;
  const res = await pool.query('INSERT INTO conversation (kind, direct_key, head_seq, last_activity_at) VALUES (?, ?, ?, NOW(3))', [DIRECT, key, head]);
  const id = Number(res.insertId);
  await pool.query(
    'INSERT INTO conversation_member (conversation_id, user_id, peer_id, active, joined_at) VALUES (?, ?, ?, 1, NOW(3)), (?, ?, ?, 1, NOW(3))',
    [id, a, b, id, b, a],
  );
  return id;
}

/**
 * Seeds `mine` messages from sender to receiver in one direct conversation and
 * `others` messages in `otherConversations` conversations between users that
 * do not exist, all as real rows with contiguous seq and the heads set.
 * Ids are explicit and the receiver's messages are spread evenly through the
 * others' id range (as in a live system), with multi-row INSERTs of 1,000
 * rows on `parallel` connections.
 */
export async function seedMessages(pool: Pool, o: { sender: string; receiver: string; mine: number; others: number; otherConversations: number; parallel?: number }): Promise<SeedResult> {
  const t0 = Date.now();
  const [{ max }] = await pool.query('SELECT COALESCE(MAX(id), 0) AS max FROM message');
  const sender = Number(o.sender);
  const receiver = Number(o.receiver);
  const mineConv = await conversation(pool, sender, receiver, o.mine);
  const perConv = o.others ? Math.ceil(o.others / o.otherConversations) : 0;
  const others: number[] = [];
  for (let i = 0; i < (o.others ? o.otherConversations : 0); i++) {
    others.push(await conversation(pool, FAKE_USER_BASE + 2 * i, FAKE_USER_BASE + 2 * i + 1, perConv));
  }
  const total = o.mine + o.others;
  const every = o.others ? Math.max(1, Math.floor(total / o.mine)) : 1;
  const pad = ' lorem ipsum dolor sit amet, consectetur adipiscing elit';
  let id = Number(max);
  let mine = 0;
  let other = 0;
  let mineFrom = 0;
  let mineTo = 0;
  /** One multi-row INSERT at a time, made on demand (1M rows of text would be ~100 MB at once). */
  function* statements(): Generator<string> {
    let rows: string[] = [];
    for (let p = 0; p < total; p++) {
      id++;
      if ((p % every === every - 1 && mine < o.mine) || other >= o.others) {
        mine++;
        mineFrom ||= id;
        mineTo = id;
        rows.push(`(${id},${mineConv},${mine},${sender},'s${id}',${TEXT},${receiver},NULL,'seed ${mine}${pad}',NOW(3))`);
      } else {
        const c = other % others.length;
        const seq = Math.floor(other / others.length) + 1;
        const from = FAKE_USER_BASE + 2 * c;
        rows.push(`(${id},${others[c]},${seq},${from},'s${id}',${TEXT},${from + 1},NULL,'other ${other}${pad}',NOW(3))`);
        other++;
      }
      if (rows.length === ROWS_PER_INSERT || p === total - 1) {
        yield `INSERT INTO message (id, conversation_id, seq, sender_id, client_msg_id, type, receiver_id, group_id, content, created_at) VALUES ${rows.join(',')}`;
        rows = [];
      }
    }
  }
  const gen = statements();
  await Promise.all(Array.from({ length: o.parallel ?? 3 }, async () => {
    for (let r = gen.next(); !r.done; r = gen.next()) await pool.query(r.value);
  }));
  if (others.length) {
    // The round robin may leave the last conversations one short of perConv.
    await pool.query(
      `UPDATE conversation c JOIN (SELECT conversation_id, MAX(seq) AS head FROM message WHERE conversation_id IN (${others.join(',')}) GROUP BY conversation_id) h
         ON h.conversation_id = c.id SET c.head_seq = h.head`,
    );
  }
  return { mineFrom, mineTo, seconds: (Date.now() - t0) / 1000 };
}
