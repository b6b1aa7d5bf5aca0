import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import type { Config } from '../config';

/**
 * The same operation limits for HTTP (Apollo validationRules) and the socket
 * (graphql-ws onSubscribe). Tokens are limited by graphql's parser (maxTokens).
 * Rejections are reported as validation errors with code LIMIT_EXCEEDED
 * instead of being thrown, so validation reports them like any other error.
 */
export function limitRules(limits: Config['limits']): ValidationRule[] {
  const report = (ctx: ValidationContext | null, err: GraphQLError) =>
    ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'LIMIT_EXCEEDED' } }));
  const common = { propagateOnRejection: false, onReject: [report], exposeLimits: true };
  return [
    maxDepthRule({ ...common, n: limits.depth, flattenFragments: true }),
    maxAliasesRule({ ...common, n: limits.aliases }),
    costLimitRule({ ...common, maxCost: limits.cost }),
    maxDirectivesRule({ ...common, n: limits.directives }),
  ] as unknown as ValidationRule[];
}
