import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { StartupError } from '../startup';

/** The lock file inside DATA_DIR. */
export const LOCK_FILE = 'node.lock';

/**
 * Holds DATA_DIR for this process: one embedded node per data directory,
 * since two processes writing one SQLite file would each believe they alone
 * hold presence, queues and buses. The lock is SQLite's own exclusive file
 * lock on a small database beside the data (locking_mode=EXCLUSIVE keeps it
 * after the first write), so the operating system drops it when the process
 * dies, kill -9 included: a restart never finds a stale lock.
 * Throws StartupError when another process holds it.
 */
export function lockDataDir(dir: string): { release(): void } {
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec(`BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; INSERT INTO holder VALUES (${process.pid}); COMMIT`);
  } catch (e) {
    db.close();
    if (/SQLITE_BUSY|database is locked/.test(`${(e as { code?: string }).code} ${(e as Error).message}`)) {
      throw new StartupError(
        `the data directory ${resolve(dir)} is in use by another embedded node; give this one its own DATA_DIR, or set DATABASE_URL and REDIS_URL to run several nodes on MariaDB and Redis`,
      );
    }
    throw e;
  }
  return { release: () => db.close() };
}
