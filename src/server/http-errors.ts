import type { ErrorRequestHandler, Express, RequestHandler, Response } from 'express';
import type { Logger } from '../logger';
import { type HttpFailure, httpFailure, routeNotFound } from './format-error';

// Express answers its own errors (body parsing, unknown paths, a throwing
// route) with an HTML page that carries the stack trace. These handlers
// answer them as GraphQL error responses instead, so a client reads every
// failure the same way: JSON with errors[0].extensions.code.

function send(res: Response, f: HttpFailure): void {
  if (res.headersSent) {
    // Part of another answer is out already: cut the connection rather than append to it.
    res.destroy();
    return;
  }
  res.status(f.status).type('application/json').send(JSON.stringify(f.body));
}

const shown = (path: string) => (path.length > 200 ? `${path.slice(0, 200)}…` : path);

/** Errors of the middleware before it (the body parser above all), answered as GraphQL errors. */
export function graphqlErrors(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const f = httpFailure(err);
    if (f.unexpected) log.error({ err, method: req.method, path: req.originalUrl }, 'unexpected error in an HTTP request');
    else log.debug({ code: f.body.errors[0].extensions?.code, status: f.status, method: req.method }, 'HTTP request refused');
    send(res, f);
  };
}

/** 404 NOT_FOUND for a path no route serves, e.g. /graphql/anything. */
export const notFound: RequestHandler = (req, res) => send(res, routeNotFound(req.method, shown(req.originalUrl.split('?')[0])));

/** Lets the mount path itself through (/graphql or /graphql/) and answers any path below it with 404. */
export const onlyMountPath: RequestHandler = (req, res, next) => (req.path === '/' ? next() : notFound(req, res, next));

/**
 * The app's last handlers, mounted after every route: an unknown path gets
 * 404 NOT_FOUND, and an error no route answered gets a GraphQL error
 * response instead of express's HTML page.
 */
export function mountFallbacks(app: Express, log: Logger): void {
  app.use(notFound);
  app.use(graphqlErrors(log));
}
