import type { BenchDb, Value } from './db';

const DIRECT = 1;
const TEXT = 1;
const FAKE_USER_BASE = 900_000_000;

export interface SeedResult { mineFrom: number; mineTo: number; seconds: number }

const maxId = async (db: BenchDb, table: string) => Number((await db.all<{ max: number }>(`SELECT COALESCE(MAX(id), 0) AS max FROM ${table}`))[0].max);

/**
 * Seeds `mine` messages from sender to receiver in one direct conversation and
 * `others` messages in `otherConversations` conversations between users that
 * do not exist, all as real rows with contiguous seq and the heads set.
 * Ids are explicit (conversations' too) and the receiver's messages are spread
 * evenly through the others' id range (as in a live system); rows go in
 * through BenchDb.insertRows (multi-row INSERTs on MariaDB, prepared
 * INSERTs in short transactions on SQLite).
 */
export async function seedMessages(db: BenchDb, o: { sender: string; receiver: string; mine: number; others: number; otherConversations: number }): Promise<SeedResult> {
  const t0 = Date.now();
  const now = db.now();
  const sender = Number(o.sender);
  const receiver = Number(o.receiver);
  const convs = o.others ? o.otherConversations : 0;
  // Conversation c of the others holds the round robin's share: its head.
  const headOf = (c: number) => Math.floor(o.others / convs) + (c < o.others % convs ? 1 : 0);
  const conv0 = (await maxId(db, 'conversation')) + 1;
  const mineConv = conv0;
  const otherConv = (c: number) => conv0 + 1 + c;
  const pairs: Array<[number, number, number, number]> = [[mineConv, sender, receiver, o.mine]];
  for (let c = 0; c < convs; c++) pairs.push([otherConv(c), FAKE_USER_BASE + 2 * c, FAKE_USER_BASE + 2 * c + 1, headOf(c)]);
  await db.insertRows('conversation', ['id', 'kind', 'direct_key', 'head_seq', 'last_activity_at'], pairs.map(([id, a, b, head]): Value[] => [id, DIRECT, a < b ? `${a}:${b}` : `${b}:${a}`, head, now]));
  await db.insertRows('conversation_member', ['conversation_id', 'user_id', 'peer_id', 'active', 'joined_at'], pairs.flatMap(([id, a, b]): Value[][] => [[id, a, b, 1, now], [id, b, a, 1, now]]));

  const total = o.mine + o.others;
  const every = o.others ? Math.max(1, Math.floor(total / o.mine)) : 1;
  const pad = ' lorem ipsum dolor sit amet, consectetur adipiscing elit';
  let id = await maxId(db, 'message');
  let mine = 0;
  let other = 0;
  let mineFrom = 0;
  let mineTo = 0;
  /** Rows made on demand (1M rows of text would be ~100 MB at once). */
  function* rows(): Generator<Value[]> {
    for (let p = 0; p < total; p++) {
      id++;
      if ((p % every === every - 1 && mine < o.mine) || other >= o.others) {
        mine++;
        mineFrom ||= id;
        mineTo = id;
        yield [id, mineConv, mine, sender, `s${id}`, TEXT, receiver, null, `seed ${mine}${pad}`, now];
      } else {
        const c = other % convs;
        const from = FAKE_USER_BASE + 2 * c;
        yield [id, otherConv(c), Math.floor(other / convs) + 1, from, `s${id}`, TEXT, from + 1, null, `other ${other}${pad}`, now];
        other++;
      }
    }
  }
  await db.insertRows('message', ['id', 'conversation_id', 'seq', 'sender_id', 'client_msg_id', 'type', 'receiver_id', 'group_id', 'content', 'created_at'], rows());
  return { mineFrom, mineTo, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Session rows for tokens the bench signs itself (sockets): the server lets a
 * token in only while its session row is live. Expires in `ttlS` seconds.
 */
export async function seedSessions(db: BenchDb, sessions: Array<{ id: string; userId: string; deviceId: string }>, ttlS = 3600): Promise<void> {
  const now = db.now();
  const expires = db.now(ttlS);
  await db.insertRows(
    'session',
    ['id', 'user_id', 'device_id', 'refresh_hash', 'generation', 'created_at', 'expires_at'],
    sessions.map((s): Value[] => [s.id, Number(s.userId), s.deviceId, '0'.repeat(64), 0, now, expires]),
  );
}
