import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { AppError, ErrorCode } from '../errors';

/**
 * The last line of error mapping, at both transports. The schema's error
 * middleware maps AppErrors thrown by resolvers, but type-graphql runs the auth
 * checker before any global middleware, so UNAUTHENTICATED/FORBIDDEN from
 * @Authorized arrive here unmapped; and Apollo relabels every validation error
 * GRAPHQL_VALIDATION_FAILED (and parse errors GRAPHQL_PARSE_FAILED), hiding a
 * limit rule's LIMIT_EXCEEDED. This restores the real code. type-graphql's
 * ArgumentValidationError is a GraphQLError already, so it also passes the
 * middleware unmapped: its message says nothing and its extensions echo the
 * whole argument object (a password included); it becomes "invalid input: ..."
 * with the constraint messages only.
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

/** Formats one error for the client; unexpected errors get INTERNAL_SERVER_ERROR (masked in production). */
export function formatForClient(
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
  const code = codeFor(error, formatted.extensions?.code) ?? opts.fallbackCode;
  if (code === undefined || code === ErrorCode.INTERNAL) {
    opts.onUnexpected(error);
    if (opts.production) return { message: 'internal server error', extensions: { code: ErrorCode.INTERNAL } };
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.INTERNAL } };
  }
  if (code === formatted.extensions?.code) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, ...detailsOf(error), code } };
}
