import type { Config, MariaDbConfig } from './config';

/**
 * A reason the server cannot start, told as one line (no stack): what failed,
 * where, and what to do. main.ts prints it to stderr and exits 69.
 */
export class StartupError extends Error {}

/** The error's own code (`ECONNREFUSED`, `ER_ACCESS_DENIED_ERROR`, ...), if any. */
function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first line of an error's message, without the connector's `(conn:…, no:…, SQLState:…)` prefix. */
function firstLine(e: unknown): string {
  const text = (e as { text?: unknown })?.text;
  const msg = typeof text === 'string' ? text : e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].replace(/^\(conn:[^)]*\)\s*/, '');
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ER_CONNECTION_TIMEOUT', 'ER_GET_CONNECTION_TIMEOUT']);

/**
 * The startup error for a failed first connection to MariaDB (`err` from the
 * mariadb connector): a refused login is told to fix DATABASE_URL, an
 * unreachable server to start MariaDB, anything else as it is.
 */
export function mariadbStartupError(db: MariaDbConfig, err: unknown): StartupError {
  const where = `MariaDB at ${db.host}:${db.port}`;
  const code = codeOf(err);
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR') {
    return new StartupError(`${where} refused user ${db.user}: ${firstLine(err)}; fix the user or password in DATABASE_URL`);
  }
  if (code && UNREACHABLE.has(code)) {
    return new StartupError(`cannot reach ${where} (${code}); start MariaDB (\`mariadbd\`) or set DATABASE_URL`);
  }
  return new StartupError(`${where}: ${firstLine(err)}; check DATABASE_URL`);
}

/**
 * The startup error for a failed first connection to Redis. `err` is the
 * client's last connection error when there was one (it says more than the
 * rejected connect's "Connection is closed."). The URL is shown without its
 * credentials.
 */
export function redisStartupError(url: string, err: unknown): StartupError {
  let where = 'Redis';
  try {
    const u = new URL(url);
    where = `Redis at ${u.hostname}:${u.port || 6379}`;
  } catch {
    // REDIS_URL was validated as a URL; keep the generic name if it still fails
  }
  const code = codeOf(err);
  const msg = firstLine(err);
  if (/WRONGPASS|NOAUTH|invalid (username-)?password/i.test(msg)) {
    return new StartupError(`${where} refused the login: ${msg}; fix the user or password in REDIS_URL`);
  }
  if (code && UNREACHABLE.has(code)) {
    return new StartupError(`cannot reach ${where} (${code}); start Redis (\`redis-server --daemonize yes\`) or set REDIS_URL`);
  }
  return new StartupError(`${where}: ${msg}; check REDIS_URL`);
}

/** The startup error for an HTTP listen that failed (`err` from net.Server's 'error'). */
export function listenStartupError(host: string, port: number, err: unknown): StartupError {
  const code = codeOf(err);
  if (code === 'EADDRINUSE') return new StartupError(`port ${port} on ${host} is already in use; stop the process holding it or set PORT`);
  if (code === 'EACCES') return new StartupError(`no permission to listen on port ${port} on ${host}; pick a port above 1023 with PORT`);
  if (code === 'EADDRNOTAVAIL') return new StartupError(`cannot listen on ${host}: no such local address; set HOST`);
  return new StartupError(`cannot listen on ${host}:${port}: ${firstLine(err)}; check HOST and PORT`);
}
