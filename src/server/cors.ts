import cors from 'cors';
import type { RequestHandler } from 'express';
import type { Config } from '../config';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a browser on `origin` may use the API (config.cors, CORS_ORIGINS).
 * `host` is the request's Host header: an origin naming this very server is
 * same-origin and always allowed (a web client served from the API's own
 * address opens its socket with that Origin). A request without an Origin is
 * not a cross-origin browser request (curl, Node, Electron's main process)
 * and is allowed; the browser is what CORS protects, and it always sends one.
 */
export function originAllowed(rule: Config['cors'], origin: string | undefined, host?: string): boolean {
  if (origin === undefined) return true;
  if (rule.allow === 'any') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (a sandboxed frame, a file:// page) or garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  if (rule.allow === 'localhost') return LOCAL_HOSTS.has(url.hostname);
  return rule.origins.includes(url.origin);
}

/**
 * The `cors` middleware for /graphql: an allowed origin is echoed in
 * Access-Control-Allow-Origin (with `Vary: Origin`), any other gets no CORS
 * header, so the browser keeps the answer from the page. Tokens travel in the
 * Authorization header, never in cookies, so credentials are not allowed.
 */
export function corsMiddleware(rule: Config['cors']): RequestHandler {
  if (rule.allow === 'any') return cors({ origin: '*' });
  // Same-origin requests need no CORS header, so the Host is not consulted here.
  return cors({ origin: (origin, done) => done(null, origin !== undefined && originAllowed(rule, origin)) });
}
