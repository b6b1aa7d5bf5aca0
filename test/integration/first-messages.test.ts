import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeFriends } from '../support/chat';
import { gql, registerUser, startServer, type TestServer } from '../support/harness';

// D2: a conversation's first message creates its row. When both sides send
// their first messages at the same moment, MariaDB may pick one creation as a
// deadlock victim; that send must still succeed (it rolled back, nothing was
// stored), never answer INTERNAL_SERVER_ERROR. The deadlock is rare (one
// metrics-test run in many hit it): this load makes it possible, not certain.

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.close();
});

const SEND = 'mutation($to: ID!, $c: String!) { sendMessage(input: { to: { userId: $to }, clientMsgId: $c, type: TEXT, content: "first" }) { id seq } }';

test('both sides of many new conversations send their first messages at once: every send succeeds, seqs 1 and 2', async () => {
  for (let round = 0; round < 3; round++) {
    const pairs = await Promise.all(
      Array.from({ length: 15 }, async () => {
        const [a, b] = [await registerUser(s.url), await registerUser(s.url)];
        await makeFriends(s.url, a, b);
        return [a, b] as const;
      }),
    );
    const answers = await Promise.all(
      pairs.flatMap(([a, b]) => [gql(s.url, SEND, { to: b.id, c: `r${round}a` }, a.token), gql(s.url, SEND, { to: a.id, c: `r${round}b` }, b.token)]),
    );
    for (const r of answers) assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    for (let i = 0; i < answers.length; i += 2) {
      assert.deepEqual([answers[i].data.sendMessage.seq, answers[i + 1].data.sendMessage.seq].sort(), [1, 2]);
    }
  }
});
