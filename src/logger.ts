import pino, { type Logger } from 'pino';

export type { Logger };

/** The one root logger; modules take child loggers from it. */
export function createLogger(level: string, name = 'im-server'): Logger {
  return pino({ name, level, redact: ['req.headers.authorization', '*.password', '*.token'] });
}
