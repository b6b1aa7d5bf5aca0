import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * The one root logger; modules take child loggers from it. Lines are pretty
 * (pino-pretty, colored, in-process and synchronous) when `prettyOut` is true,
 * by default when stdout is a terminal; otherwise one JSON object per line, for
 * a log collector or a pipe.
 */
export function createLogger(level: string, name = 'im-server', prettyOut = process.stdout.isTTY === true): Logger {
  const options = { name, level, redact: ['req.headers.authorization', '*.password', '*.token'] };
  if (!prettyOut) return pino(options);
  return pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
}
