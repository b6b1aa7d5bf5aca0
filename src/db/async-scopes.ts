import { AsyncLocalStorage } from 'node:async_hooks';

type Run = AsyncLocalStorage<unknown>['run'];

let installed: { run: Run; undo: () => void } | undefined;

/**
 * On Node 20 the first `AsyncLocalStorage.run()` turns on promise hooks for
 * every promise of the process, for good. MikroORM opens such a scope for each
 * flush and transaction (and raw fragment), so one registration left them on
 * for the delivery path, which never touches the ORM: about a tenth of the
 * server's CPU went to the hooks and the garbage they make.
 *
 * Every one of those scopes is awaited where it is opened (`run`'s callback
 * returns the promise MikroORM awaits), so once none is open no code can be
 * inside one, and the storages they used are disabled until the next `run()`
 * enables them again. Only storages entered through `run()` are touched; one
 * entered with `enterWith()` stays as Node left it.
 *
 * Returns the undo. Installing twice keeps the first.
 */
export function scopeAsyncLocalStorage(): () => void {
  if (installed) return installed.undo;
  const proto = AsyncLocalStorage.prototype as unknown as { run: Run };
  const run = proto.run;
  let open = 0;
  const used = new Set<AsyncLocalStorage<unknown>>();
  const settle = (): void => {
    if (--open > 0) return;
    for (const s of used) s.disable();
    used.clear();
  };
  proto.run = function scopedRun(this: AsyncLocalStorage<unknown>, store: unknown, cb: (...a: unknown[]) => unknown, ...args: unknown[]) {
    open++;
    used.add(this);
    let out: unknown;
    try {
      out = run.call(this, store, cb, ...args);
    } catch (e) {
      settle();
      throw e;
    }
    if (typeof (out as PromiseLike<unknown> | undefined)?.then === 'function') (out as PromiseLike<unknown>).then(settle, settle);
    else settle();
    return out;
  } as Run;
  const undo = (): void => {
    if (installed?.run !== run) return;
    proto.run = run;
    installed = undefined;
  };
  installed = { run, undo };
  return undo;
}
