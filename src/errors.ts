/**
 * One error type with codes. Services throw AppError; the GraphQL layer maps
 * it once (src/server/format-error.ts) to a GraphQLError with extensions.code.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  NOT_FRIENDS: 'NOT_FRIENDS',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  /** The HTTP request itself is malformed (not JSON, wrong encoding, not a GraphQL request). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The HTTP request body is over HTTP_MAX_BODY. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, details);
export const unauthenticated = (message = 'authentication required') =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'not allowed') => new AppError(ErrorCode.FORBIDDEN, message);
export const notFound = (what: string) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);

const UNAVAILABLE_HINTS =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|connection (?:closed|lost|refused)|socket has unexpectedly been closed|retrieve connection from pool timeout|ER_GET_CONNECTION_TIMEOUT|ER_CONNECTION_TIMEOUT|ER_SOCKET_UNEXPECTED_CLOSE|Reached the max retries per request limit|Stream isn't writeable/i;

/** A database or Redis outage (as opposed to a bug): the client should retry. */
export function isUnavailable(e: unknown): boolean {
  for (let x: unknown = e, hops = 0; x && hops < 5; x = (x as { cause?: unknown }).cause, hops++) {
    const err = x as { name?: string; code?: string; message?: string };
    if (err.name === 'ConnectionException' || err.name === 'MaxRetriesPerRequestError') return true;
    if (UNAVAILABLE_HINTS.test(`${err.code ?? ''} ${err.message ?? ''}`)) return true;
  }
  return false;
}
