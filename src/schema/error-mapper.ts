import { GraphQLError } from 'graphql';
import { ArgumentValidationError, type MiddlewareFn } from 'type-graphql';
import { AppError, ErrorCode, isUnavailable } from '../errors';
import type { Ctx } from './context';

/**
 * The one place where service errors become GraphQL errors, for both
 * transports: every resolver runs inside this global middleware.
 */
export const mapErrors: MiddlewareFn<Ctx> = async (_action, next) => {
  try {
    return await next();
  } catch (e) {
    throw toGraphQLError(e);
  }
};

export function toGraphQLError(e: unknown): unknown {
  if (e instanceof GraphQLError) return e;
  if (e instanceof AppError) {
    return new GraphQLError(e.message, { extensions: { code: e.code, ...(e.details ?? {}) }, originalError: e });
  }
  if (isUnavailable(e)) {
    const err = new AppError(ErrorCode.UNAVAILABLE, 'the service is briefly unavailable (database or Redis unreachable); try again, with the same clientMsgId for a send');
    return new GraphQLError(err.message, { extensions: { code: err.code }, originalError: err });
  }
  if (e instanceof ArgumentValidationError) {
    const problems = e.extensions.validationErrors.flatMap((v) =>
      Object.values(v.constraints ?? {}).concat(
        (v.children ?? []).flatMap((c) => Object.values(c.constraints ?? {})),
      ),
    );
    return new GraphQLError(`invalid input: ${problems.join('; ')}`, {
      extensions: { code: ErrorCode.BAD_USER_INPUT, problems },
      originalError: e,
    });
  }
  return e;
}
