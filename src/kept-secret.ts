import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from './startup';

/** The file under DATA_DIR that holds the development JWT secret. */
export const JWT_SECRET_FILE = 'jwt-secret';

/**
 * The development JWT secret kept in `<dataDir>/jwt-secret`: read when the
 * file exists, otherwise 32 random bytes (base64url, 43 characters) are
 * written there first (mode 0600, unless the umask is stricter), so a restart
 * does not sign every client out. Two processes starting at once agree: the
 * file appears whole and only once, and the later one reads it.
 *
 * Throws StartupError when the directory cannot be written or the file holds
 * fewer than 32 bytes.
 */
export function keptJwtSecret(dataDir: string): string {
  const file = join(dataDir, JWT_SECRET_FILE);
  try {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(file)) {
      // Written whole under a private name, then linked in: a concurrent reader never sees a partial file.
      const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(draft, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
      try {
        linkSync(draft, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        unlinkSync(draft);
      }
    }
    const secret = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(secret) < 32) {
      throw new StartupError(`${file} holds fewer than 32 bytes; delete it (a new one is made) or set JWT_SECRET`);
    }
    return secret;
  } catch (e) {
    if (e instanceof StartupError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new StartupError(`cannot keep the JWT secret in ${file} (${err.code ?? err.message}); set DATA_DIR to a writable directory, or set JWT_SECRET`);
  }
}
