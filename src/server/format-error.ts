import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { AppError, ErrorCode, isUnavailable } from '../errors';

/**
 * The one place where errors get their client-facing code, at both
 * transports (Apollo's formatError and graphql-ws onNext). Services throw
 * AppError; the auth checker's errors, limit rule rejections (which Apollo
 * relabels GRAPHQL_VALIDATION_FAILED), the parser's token limit and outages of
 * MariaDB or Redis are recognised here too. type-graphql's
 * ArgumentValidationError echoes the whole argument object (a password
 * included); it becomes "invalid input: ..." with the constraint messages only.
 */
export function codeFor(error: unknown, formattedCode: unknown): string | undefined {
  for (let e: unknown = error, hops = 0; e && hops < 5; e = (e as { originalError?: unknown }).originalError, hops++) {
    if (e instanceof AppError) return e.code;
    if (e instanceof GraphQLError && e.extensions?.code === ErrorCode.LIMIT_EXCEEDED) return ErrorCode.LIMIT_EXCEEDED;
  }
  const message = error instanceof Error ? error.message : '';
  // graphql's parser (maxTokens) says "Document contains more that N tokens".
  if (formattedCode === 'GRAPHQL_PARSE_FAILED' && /contains more th(?:at|an) \d+ tokens/.test(message)) return ErrorCode.LIMIT_EXCEEDED;
  return typeof formattedCode === 'string' ? formattedCode : undefined;
}

function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = error; e && out.length < 5; e = (e as { originalError?: unknown }).originalError) out.push(e);
  return out;
}

type ValidationErrorLike = { constraints?: Record<string, string>; children?: ValidationErrorLike[] };
const constraintMessages = (v: ValidationErrorLike): string[] =>
  Object.values(v.constraints ?? {}).concat((v.children ?? []).flatMap(constraintMessages));

/** An AppError's details travel in extensions, as the error middleware puts them. */
function detailsOf(error: unknown): Record<string, unknown> {
  for (let e: unknown = error, hops = 0; e && hops < 5; e = (e as { originalError?: unknown }).originalError, hops++) {
    if (e instanceof AppError) return e.details ?? {};
  }
  return {};
}

/**
 * graphql-js ends some messages with suggestions (`Did you mean "content"?`) drawn
 * from the schema: in production they would spell out what introspection hides.
 */
const SUGGESTION = / ?Did you mean [^?]*\?$/;

/**
 * Formats one error for the client; unexpected errors get INTERNAL_SERVER_ERROR
 * (masked in production), and production drops field suggestions.
 */
export function formatForClient(
  formatted: GraphQLFormattedError,
  error: unknown,
  opts: Parameters<typeof formatCode>[2],
): GraphQLFormattedError {
  const out = formatCode(formatted, error, opts);
  if (!opts.production || !SUGGESTION.test(out.message)) return out;
  return { ...out, message: out.message.replace(SUGGESTION, '') };
}

function formatCode(
  formatted: GraphQLFormattedError,
  error: unknown,
  opts: {
    production: boolean;
    onUnexpected: (error: unknown) => void;
    /** The code for an error without one (e.g. BAD_USER_INPUT for a request error: bad variables). */
    fallbackCode?: string;
  },
): GraphQLFormattedError {
  const invalid = chain(error).find((e): e is ArgumentValidationError => e instanceof ArgumentValidationError);
  if (invalid) {
    const problems = (invalid.extensions.validationErrors as ValidationErrorLike[]).flatMap(constraintMessages);
    const { validationErrors: _dropped, ...rest } = formatted.extensions ?? {};
    return {
      ...formatted,
      message: problems.length ? `invalid input: ${problems.join('; ')}` : 'invalid input',
      extensions: { ...rest, code: ErrorCode.BAD_USER_INPUT, problems },
    };
  }
  // A database or Redis outage is not a bug: the client should retry (a send with the same clientMsgId).
  if (!chain(error).some((e) => e instanceof AppError) && chain(error).some(isUnavailable)) {
    return {
      message: 'the service is briefly unavailable (database or Redis unreachable); try again, with the same clientMsgId for a send',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.UNAVAILABLE },
    };
  }
  const code = codeFor(error, formatted.extensions?.code) ?? opts.fallbackCode;
  if (code === undefined || code === ErrorCode.INTERNAL) {
    opts.onUnexpected(error);
    if (opts.production) return { message: 'internal server error', extensions: { code: ErrorCode.INTERNAL } };
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.INTERNAL } };
  }
  if (code === formatted.extensions?.code) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, ...detailsOf(error), code } };
}

/** An HTTP-level failure as the GraphQL error response that answers it. */
export interface HttpFailure {
  status: number;
  body: { errors: GraphQLFormattedError[] };
  /** A bug or an outage rather than a bad request: log it with its stack. */
  unexpected: boolean;
}

/** body-parser's error types (err.type), each with its status, code and a message that echoes nothing of the request. */
const BODY_ERRORS: Record<string, [status: number, code: string, message: (e: { limit?: number }) => string]> = {
  'entity.too.large': [413, ErrorCode.PAYLOAD_TOO_LARGE, (e) => `request body too large: the limit is ${e.limit} bytes`],
  'entity.parse.failed': [400, ErrorCode.BAD_REQUEST, () => 'request body is not valid JSON: send an object with "query" (and "variables")'],
  'charset.unsupported': [415, ErrorCode.BAD_REQUEST, () => 'unsupported charset: send the body as utf-8 JSON'],
  'encoding.unsupported': [415, ErrorCode.BAD_REQUEST, () => 'unsupported content encoding: send identity, gzip, deflate or br'],
  'request.aborted': [400, ErrorCode.BAD_REQUEST, () => 'request aborted before its body was read'],
  'request.size.invalid': [400, ErrorCode.BAD_REQUEST, () => 'request body length does not match its Content-Length'],
};

const failure = (status: number, code: string, message: string, unexpected = false): HttpFailure => ({
  status,
  body: { errors: [{ message, extensions: { code } }] },
  unexpected,
});

/**
 * The answer to an error that reached express rather than Apollo (body
 * parsing, a throwing route, an unknown path): always a GraphQL error
 * response with `extensions.code` and never a stack trace or a path of the
 * server's files, in any environment (the log keeps the stack). A 4xx error
 * keeps its status; anything else is a 500 INTERNAL_SERVER_ERROR, or a 503
 * UNAVAILABLE when MariaDB or Redis is out.
 */
export function httpFailure(error: unknown): HttpFailure {
  const e = (error ?? {}) as { type?: unknown; code?: unknown; status?: unknown; statusCode?: unknown; expose?: unknown; limit?: number };
  const known = typeof e.type === 'string' ? BODY_ERRORS[e.type] : undefined;
  if (known) return failure(known[0], known[1], known[2](e));
  // zlib's errors (Z_DATA_ERROR, ...) for a body that says it is gzip, deflate or br and is not.
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) return failure(400, ErrorCode.BAD_REQUEST, 'request body could not be decompressed (Content-Encoding)');
  const status = Number(e.status ?? e.statusCode);
  if (status >= 400 && status < 500) {
    const message = e.expose === true && error instanceof Error ? error.message : 'bad request';
    return failure(status, status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_REQUEST, message);
  }
  if (isUnavailable(error)) return failure(503, ErrorCode.UNAVAILABLE, 'the service is briefly unavailable (database or Redis unreachable); try again');
  return failure(500, ErrorCode.INTERNAL, 'internal server error', true);
}

/** An unknown path: 404 with NOT_FOUND. */
export const routeNotFound = (method: string, path: string): HttpFailure =>
  failure(404, ErrorCode.NOT_FOUND, `no route for ${method} ${path}: GraphQL is served on /graphql`);
