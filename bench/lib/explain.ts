import { sqlPool } from './server';

/**
 * EXPLAIN of every SQL statement on the send and delivery path, copied from
 * src/services/message.service.ts, src/services/friend.service.ts,
 * src/services/group.service.ts, src/delivery/cursor-store.ts and
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
    const m = await one('SELECT id, conversation_id, sender_id, receiver_id, group_id, client_msg_id FROM message ORDER BY id DESC LIMIT 1');
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
    const statements: Array<[string, string, unknown[]]> = [
      ['send: byClientId (D3: repeat or blocked path only)', `SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.sender_id = ? AND m.client_msg_id = ?`, [m.sender_id ?? 1, m.client_msg_id ?? 'x']],
      ['send: canMessage (D1)', `SELECT EXISTS(SELECT 1 FROM friendship WHERE user_lo = ? AND user_hi = ?) AS friends, COALESCE((SELECT blocked FROM friend_setting WHERE user_id = ? AND peer_id = ?), 0) AS blocked`, [lo, hi, hi, lo]],
      ['send: lock 1:1 conversation', 'SELECT id, head_seq FROM conversation WHERE direct_key = ? FOR UPDATE', [direct.direct_key ?? '1:2']],
      ['send: lock group conversation + membership', `SELECT c.id, c.head_seq, cm.role FROM conversation c LEFT JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ? AND cm.active = 1 WHERE c.id = ? AND c.kind = ? FOR UPDATE`, [u, grp.id ?? 1, 2]],
      ['send: move head + sender lastRead', 'UPDATE conversation c JOIN conversation_member cm ON cm.conversation_id = c.id AND cm.user_id = ? SET c.head_seq = c.head_seq, c.last_message_id = ?, c.last_activity_at = NOW(3), cm.last_read_id = ?, cm.last_read_seq = cm.last_read_seq WHERE c.id = ?', [u, id, id, c]],
      ['fan-out: member ids (cache miss)', 'SELECT m.user_id FROM chat_group g JOIN conversation_member m ON m.conversation_id = g.id AND m.active = 1 WHERE g.id = ? AND g.dissolved_at IS NULL ORDER BY m.user_id', [grp.id ?? 1]],
      ['guards (offline late-commit), batched, 2 users (1:1)', `UPDATE device_cursor c JOIN (${union(2, 'SELECT ? AS u, CAST(? AS UNSIGNED) AS m, ? AS ex')}) v ON c.user_id = v.u SET c.last_ack = v.m - 1, c.last_ack_err = IF(c.last_ack_err IS NULL OR v.m < c.last_ack_err, v.m, c.last_ack_err), c.version = c.version + 1 WHERE c.last_ack >= v.m AND FIND_IN_SET(c.device_id, v.ex) = 0`, [u, users[0] ?? u].flatMap((x) => [x, id, ''])],
      [`guards (offline late-commit), batched, ${users.length} users (group fan-out)`, `UPDATE device_cursor c JOIN (${union(Math.max(1, users.length), 'SELECT ? AS u, CAST(? AS UNSIGNED) AS m, ? AS ex')}) v ON c.user_id = v.u SET c.last_ack = v.m - 1, c.last_ack_err = IF(c.last_ack_err IS NULL OR v.m < c.last_ack_err, v.m, c.last_ack_err), c.version = c.version + 1 WHERE c.last_ack >= v.m AND FIND_IN_SET(c.device_id, v.ex) = 0`, (users.length ? users : [u]).flatMap((x) => [x, id, ''])],
      ['deliver: message row (cache miss)', `SELECT ${MESSAGE_COLUMNS} FROM message m WHERE m.id = ?`, [id]],
      ['deliver: successes (D9), batched: one row per device', `UPDATE device_cursor c JOIN (${union(2, 'SELECT ? AS u, ? AS d, CAST(? AS UNSIGNED) AS m')}) v ON c.user_id = v.u AND c.device_id = v.d SET c.last_ack = v.m WHERE c.last_ack < v.m AND (c.last_ack_err IS NULL OR v.m < c.last_ack_err)`, [u, d, id, users[0] ?? u, 'x', id]],
      ['deliver: failure (D8)', 'UPDATE device_cursor SET last_ack = IF(? <= last_ack, ? - 1, last_ack), last_ack_err = IF(last_ack_err IS NULL OR ? < last_ack_err, ?, last_ack_err), version = version + 1 WHERE user_id = ? AND device_id = ?', [id, id, id, id, u, d]],
      ['acknowledge / sync: cursor read', 'SELECT last_ack, last_ack_err, version FROM device_cursor WHERE user_id = ? AND device_id = ?', [u, d]],
      ['sync: visibleAfter (D12)', `SELECT ${MESSAGE_COLUMNS} FROM conversation_member cm JOIN message m ON m.conversation_id = cm.conversation_id AND m.id > GREATEST(?, cm.visible_from) AND (cm.visible_to IS NULL OR m.id <= cm.visible_to) WHERE cm.user_id = ? AND (cm.visible_to IS NULL OR cm.visible_to > ?) ORDER BY m.id LIMIT ?`, [0, u, 0, 501]],
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
    const sync = statements.find(([name]) => name.startsWith('sync:'))!;
    const [{ n }] = await pool.query('SELECT COUNT(*) AS n FROM message WHERE conversation_id IN (SELECT conversation_id FROM conversation_member WHERE user_id = ?)', [u]);
    const [lastPage] = await pool.query(
      'SELECT id FROM message WHERE conversation_id IN (SELECT conversation_id FROM conversation_member WHERE user_id = ?) ORDER BY id LIMIT 1 OFFSET ?',
      [u, Math.max(0, Number(n) - 501)],
    );
    for (const [label, after] of [['first', 0], ['last', Number(lastPage?.id ?? 0)]] as const) {
      const t0 = process.hrtime.bigint();
      const rows = await pool.query(sync[1], [after, u, after, 501]);
      lines.push('', `sync page query alone (user ${u}, ${n} messages in their conversations, ${label} page, ${rows.length} rows): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    }
    lines.push('', 'The INSERTs (conversation INSERT IGNORE, message, the fence\'s INSERT … ON DUPLICATE KEY UPDATE) are single-row inserts by primary/unique key and have no plan to show.', '');
    return lines.join('\n');
  } finally {
    await pool.end();
  }
}
