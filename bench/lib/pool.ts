import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

/** Forked load processes (dist/bench/lib/worker.js); one command in flight per worker. */
export class Workers {
  private readonly procs: ChildProcess[];

  constructor(readonly size: number, execArgv: string[] = []) {
    this.procs = Array.from({ length: size }, () =>
      fork(path.join(__dirname, 'worker.js'), [], { serialization: 'advanced', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }

  call<T>(i: number, msg: object): Promise<T> {
    const p = this.procs[i];
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`load worker ${i} exited with ${code}`));
      p.once('exit', onExit);
      p.once('message', (m: { ok: boolean; result?: T; error?: string }) => {
        p.off('exit', onExit);
        if (m.ok) resolve(m.result as T);
        else reject(new Error(`load worker ${i}: ${m.error}`));
      });
      p.send(msg);
    });
  }

  all<T>(msg: object | ((i: number) => object)): Promise<T[]> {
    return Promise.all(this.procs.map((_, i) => this.call<T>(i, typeof msg === 'function' ? msg(i) : msg)));
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map(async (p, i) => {
      if (p.exitCode !== null || !p.connected) return;
      const exited = new Promise((r) => p.once('exit', r));
      await this.call(i, { cmd: 'close' }).catch(() => undefined);
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }));
  }
}
