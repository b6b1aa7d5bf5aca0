import { sqlPool } from './server';

/**
 * EXPLAIN of every SQL statement on the send and delivery path, copied from
 * src/services/message-writer.ts, src/services/group.service.ts,
 * src/delivery/cursor-store.ts and
 * src/delivery/message-source.ts as they stood in the measured build (see
 * bench/README.md), with parameters taken from the run's data. Keep them in
 * step when those statements change.
 */
const union = (n: number, row: string) => Array.from({ length: n }, () => row).join(' UNION ALL ');
const MESSAGE_COLUMNS = 'm.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.receiver_id, m.group_id, m.content, m.ext, m.created_at';

export async function explainDeliveryPath(db: string): Promise<string> {
  const pool = sqlPool(db, 1);
  try {
    const one = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params))[0] ?? {};
    const m = await one('SELECT id, conversation_id, seq, sender_id, receiver_id, group_id, client_msg_id FROM message ORDER BY id DESC LIMIT 1');
    // The device of the user with the most messages addressed to it (the catch-up or a one-to-one receiver), else a group member.
    const dc = (await pool.query(
      `SELECT d.user_id, d.device_id FROM device_cursor d JOIN (SELECT receiver_id, COUNT(*) AS n FROM message
         WHERE receiver_id IS NOT NULL GROUP BY receiver_id ORDER BY n DESC LIMIT 1) r ON r.receiver_id = d.user_id LIMIT 1`,
    ))[0] ?? (await one(
      `SELECT d.user_id, d.device_id FROM device_cursor d JOIN conversation_member cm ON cm.user_id = d.user_id
         JOIN conversation c ON c.id = cm.conversation_id ORDER BY c.head_seq DESC, d.user_id DESC LIMIT 1`,
    ));
    const direct = await one('SELECT id, direct_key FROM conversation WHERE kind = 1 ORDER BY id LIMIT 1');
    const grp = await one('SELECT id FROM conversation WHERE kind = 2 LIMIT 1');
    const users: number[] = (await pool.query('SELECT user_id FROM device_cursor LIMIT 160')).map((r: { user_id: number }) => r.user_id);
    const [lo, hi] = String(direct.direct_key ?? '1:2').split(':');
    const u = dc.user_id ?? 1;
    const d = dc.device_id ?? 'x';
    const id = m.id ?? 1;
    const c = m.conversation_id ?? 1;
    const seq = m.seq ?? 1;
    // The device's busiest conversation: what its sync pages read.
    const uc = (await one('SELECT cm.conversation_id FROM conversation_member cm JOIN conversation c ON c.id = cm.conversation_id WHERE cm.user_id = ? ORDER BY c.head_seq DESC LIMIT 1', [u])).conversation_id ?? c;
    const statements: Array<[string, string, unknown[]]> = [
      // MessageWriter (group commit): the first packet, after START TRANSACTION.
      ['send batch: lock 1:1 conversations', 'SELECT id, head_seq, direct_key FROM conversation WHERE direct_key IN (?, ?) FOR UPDATE', [direct.direct_key ?? '1:2', '0:0']],
      ['send batch: lock groups + sender membership', `SELECT c.id, c.head_seq, cm.user_id, cm.role FROM conversation c LEFT JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.active = 1 AND cm.user_id IN (?) WHERE c.id IN (?) AND c.kind = ? ORDER BY c.id FOR UPDATE`, [u, grp.id ?? 1, 2]],
      ['send batch: repeats (D3)', 'SELECT sender_id, client_msg_id FROM message WHERE (sender_id = ? AND client_msg_id = ?) OR (sender_id = ? AND client_msg_id = ?)', [m.sender_id ?? 1, m.client_msg_id ?? 'x', u, 'y']],
      ['send batch: D1 for 2 pairs', `SELECT v.i, EXISTS(SELECT 1 FROM friendship f WHERE f.user_lo = v.lo AND f.user_hi = v.hi) AS friends, COALESCE((SELECT s.blocked FROM friend_setting s WHERE s.user_id = v.r AND s.peer_id = v.s), 0) AS blocked FROM (${union(2, 'SELECT ? AS i, ? AS lo, ? AS hi, ? AS r, ? AS s')}) v`, [0, lo, hi, hi, lo, 1, lo, hi, lo, hi]],
      // The second packet, after the multi-row INSERT.
      ['send batch: move heads (ids from LAST_INSERT_ID())', `UPDATE (${union(2, 'SELECT CAST(? AS UNSIGNED) AS id, ? AS head, ? AS off')}) v STRAIGHT_JOIN conversation c ON c.id = v.id SET c.head_seq = c.head_seq, c.last_activity_at = c.last_activity_at, c.last_message_id = c.last_message_id + 0 * v.off`, [c, seq, 0, grp.id ?? 1, 1, 1]],
      ['send batch: move senders\' lastRead', `UPDATE (${union(2, 'SELECT CAST(? AS UNSIGNED) AS c, CAST(? AS UNSIGNED) AS u, ? AS seq, ? AS off')}) v STRAIGHT_JOIN conversation_member cm ON cm.conversation_id = v.c AND cm.user_id = v.u SET cm.last_read_id = cm.last_read_id + 0 * v.off, cm.last_read_seq = cm.last_read_seq`, [c, m.sender_id ?? 1, seq, 0, c, u, seq, 1]],
      ['send batch, where ids are not consecutive: read them back', 'SELECT id, conversation_id, seq FROM message WHERE (conversation_id = ? AND seq = ?) OR (conversation_id = ? AND seq = ?)', [c, seq, c, Math.max(1, seq - 1)]],
      ['fan-out: member ids (cache miss)', 'SELECT m.user_id FROM chat_group g JOIN conversation_member m ON m.conversation_id = g.id AND m.active = 1 WHERE g.id = ? AND g.dissolved_at IS NULL ORDER BY m.user_id', [grp.id ?? 1]],
      [`guards: the plain read first, ${users.length} users`, `SELECT user_id, device_id, last_ack FROM device_cursor WHERE user_id IN (${(users.length ? users : [u]).map(() => '?').join(', ')})`, users.length ? users : [u]],
      ['guards (offline late-commit), only users the read found, 2 users (1:1)', `UPDATE (${union(2, 'SELECT ? AS u, CAST(? AS UNSIGNED) AS m, ? AS ex')}) v STRAIGHT_JOIN device_cursor c ON c.user_id = v.u SET c.last_ack = v.m - 1, c.last_ack_err = IF(c.last_ack_err IS NULL OR v.m < c.last_ack_err, v.m, c.last_ack_err), c.version = c.version + 1 WHERE c.last_ack >= v.m AND FIND_IN_SET(c.device_id, v.ex) = 0`, [u, users[0] ?? u].flatMap((x) => [x, id, ''])],
      [`guards (offline late-commit), only users the read found, ${users.length} users (group fan-out)`, `UPDATE (${union(Math.max(1, users.length), 'SELECT ? AS u, CAST(? AS UNSIGNED) AS m, ? AS ex')}) v STRAIGHT_JOIN device_cursor c ON c.user_id = v.u SET c.last_ack = v.m - 1, c.last_ack_err = IF(c.last_ack_err IS NULL OR v.m < c.last_ack_err, v.m, c.last_ack_err), c.version = c.version + 1 WHERE c.last_ack >= v.m AND FIND_IN_SET(c.device_id, v.ex) = 0`, (users.length ? users : [u]).flatMap((x) => [x, id, ''])],
      ['deliver: message row (cache miss)', `SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.id = ?`, [id]],
      ['deliver: successes (D9), batched: one row per device', `UPDATE (${union(2, 'SELECT ? AS u, ? AS d, CAST(? AS UNSIGNED) AS m')}) v STRAIGHT_JOIN device_cursor c ON c.user_id = v.u AND c.device_id = v.d SET c.last_ack = v.m WHERE c.last_ack < v.m AND (c.last_ack_err IS NULL OR v.m < c.last_ack_err)`, [u, d, id, users[0] ?? u, 'x', id]],
      ['deliver: failure (D8)', 'UPDATE device_cursor SET last_ack = IF(? <= last_ack, ? - 1, last_ack), last_ack_err = IF(last_ack_err IS NULL OR ? < last_ack_err, ?, last_ack_err), version = version + 1 WHERE user_id = ? AND device_id = ?', [id, id, id, id, u, d]],
      ['sync: cursor and membership windows (syncStart)', 'SELECT c.last_ack, c.last_ack_err, c.version, cm.conversation_id, cm.visible_from, cm.visible_to FROM device_cursor c LEFT JOIN conversation_member cm ON cm.user_id = c.user_id AND (cm.visible_to IS NULL OR cm.visible_to > c.last_ack) WHERE c.user_id = ? AND c.device_id = ? UNION ALL SELECT c.last_ack, c.last_ack_err, c.version, w.conversation_id, w.visible_from, w.visible_to FROM device_cursor c JOIN membership_window w ON w.user_id = c.user_id AND w.visible_to > c.last_ack WHERE c.user_id = ? AND c.device_id = ?', [u, d, u, d]],
      ['acknowledgeSync refused / AckState: cursor read', 'SELECT last_ack, last_ack_err, version FROM device_cursor WHERE user_id = ? AND device_id = ?', [u, d]],
      ['sync: visibleAfter (D12), one conversation', `SELECT * FROM ((SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.conversation_id = ? AND m.id > ? ORDER BY m.id LIMIT ?)) u ORDER BY u.id LIMIT ?`, [uc, 0, 501, 501]],
      ['acknowledgeSync (D13)', 'UPDATE device_cursor SET last_ack_err = ?, last_ack = ? WHERE user_id = ? AND device_id = ? AND version = ? AND last_ack <= ?', [null, id, u, d, 0, id]],
    ];
    const lines = [
      '### EXPLAIN of the send and delivery path',
      '',
      'Plain SELECTs run as ANALYZE (executed: r_rows is the rows actually read); UPDATEs and FOR UPDATE reads are only EXPLAINed.',
      '',
      '| statement | table | type | key | key_len | ref | rows | r_rows | Extra |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    for (const [name, sql, params] of statements) {
      const analyze = sql.startsWith('SELECT') && !sql.endsWith('FOR UPDATE');
      try {
        const rows = await pool.query(`${analyze ? 'ANALYZE' : 'EXPLAIN'} ${sql}`, params);
        // The UNION ALL rows of a batched statement's derived table each say "No tables used": once is enough.
        for (const r of rows.filter((x: { Extra?: string; select_type?: string }) => x.Extra !== 'No tables used' || x.select_type === 'PRIMARY')) lines.push(`| ${name} | ${r.table ?? ''} | ${r.type ?? ''} | ${r.key ?? ''} | ${r.key_len ?? ''} | ${r.ref ?? ''} | ${r.rows ?? ''} | ${r.r_rows ?? ''} | ${r.Extra ?? ''} |`);
      } catch (e) {
        lines.push(`| ${name} | | | | | | | | EXPLAIN failed: ${(e as Error).message.split('\n')[0]} |`);
      }
    }
    // What a sync page costs MariaDB alone: the first and the last page of the device's backlog.
    const sync = statements.find(([name]) => name.startsWith('sync: visibleAfter'))!;
    const [{ n }] = await pool.query('SELECT COUNT(*) AS n FROM message WHERE conversation_id IN (SELECT conversation_id FROM conversation_member WHERE user_id = ?)', [u]);
    const [lastPage] = await pool.query(
      'SELECT id FROM message WHERE conversation_id IN (SELECT conversation_id FROM conversation_member WHERE user_id = ?) ORDER BY id LIMIT 1 OFFSET ?',
      [u, Math.max(0, Number(n) - 501)],
    );
    for (const [label, after] of [['first', 0], ['last', Number(lastPage?.id ?? 0)]] as const) {
      const t0 = process.hrtime.bigint();
      const rows = await pool.query(sync[1], [uc, after, 501, 501]);
      lines.push('', `sync page query alone (user ${u}, ${n} messages in their conversations, ${label} page, ${rows.length} rows): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    }
    lines.push('', 'The INSERTs (the batch\'s multi-row message INSERT, the conversation INSERT IGNORE, the fence\'s INSERT … ON DUPLICATE KEY UPDATE) insert by primary/unique key and have no plan to show.', '');
    return lines.join('\n');
  } finally {
    await pool.end();
  }
}
