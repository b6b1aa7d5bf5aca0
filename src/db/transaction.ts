import type { EntityManager } from '@mikro-orm/mariadb';

/**
 * `em.transactional` without its AsyncLocalStorage. The first `run()` of any
 * AsyncLocalStorage turns on Node 20's promise hooks for the life of the
 * process, and from then on every promise of every request pays for them
 * (about 4% of the server's CPU on the delivery path). The callback gets the
 * transaction's own EntityManager and must use it, as with transactional.
 */
export async function inTransaction<T>(em: EntityManager, fn: (tx: EntityManager) => Promise<T>): Promise<T> {
  const tx = em.fork();
  await tx.begin();
  try {
    const out = await fn(tx);
    await tx.commit(); // flushes, then commits
    return out;
  } catch (e) {
    await tx.rollback().catch(() => undefined);
    throw e;
  }
}
