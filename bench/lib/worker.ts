import type { Client } from 'graphql-ws';
import { connect, inBatches, SUBSCRIPTIONS } from './gql';
import { type Drain, type Final, type Go, type Prepare, Traffic } from './traffic';

/**
 * A forked load process. It takes one command at a time from the runner over
 * IPC and answers each with { ok, result } or { ok: false, error }.
 */
export interface OpenSockets { cmd: 'sockets'; wsUrl: string; tokens: string[]; batch: number; until: number }
export interface SocketsOpened { connectMs: number[]; failed: number; errors: string[]; loadCpuMs: number }
type Command = Prepare | Go | Drain | Final | OpenSockets | { cmd: 'close' };

const traffic = new Traffic();
const sockets: Client[] = [];

/** Opens sockets `batch` at a time; each sends connection_init with its token, then subscribes the three subscriptions. */
async function openSockets(c: OpenSockets): Promise<SocketsOpened> {
  const cpu0 = process.cpuUsage();
  const connectMs: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const ignore = { next: () => undefined, error: () => undefined, complete: () => undefined };
  await inBatches(c.tokens, c.batch, async (token) => {
    if (Date.now() > c.until) {
      failed++;
      return;
    }
    const s = connect(c.wsUrl, token);
    try {
      connectMs.push(await s.acked);
      for (const query of [SUBSCRIPTIONS.messages, SUBSCRIPTIONS.notifications, SUBSCRIPTIONS.readReceipts]) s.client.subscribe({ query }, ignore);
      sockets.push(s.client);
    } catch (e) {
      failed++;
      if (errors.length < 5) errors.push(String((e as Error).message));
      void s.client.dispose();
    }
  });
  const u = process.cpuUsage(cpu0);
  return { connectMs, failed, errors, loadCpuMs: (u.user + u.system) / 1000 };
}

async function handle(m: Command): Promise<unknown> {
  switch (m.cmd) {
    case 'prepare': return traffic.prepare(m);
    case 'go': return traffic.go(m);
    case 'drain': return traffic.drain(m);
    case 'final': return traffic.final();
    case 'sockets': return openSockets(m);
    case 'close':
      await traffic.close();
      await Promise.all(sockets.splice(0).map((s) => s.dispose()));
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (m: Command) => {
  handle(m).then(
    (result) => process.send!({ ok: true, result }),
    (e) => process.send!({ ok: false, error: String((e as Error)?.stack ?? e) }),
  );
});
process.on('disconnect', () => process.exit(0));
