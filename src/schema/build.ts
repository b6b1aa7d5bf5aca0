import { GraphQLSchema } from 'graphql';
import type { AppPubSub } from '../pubsub';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema as build } from 'type-graphql';
import { resolvers } from '../resolvers';
import { authChecker } from './auth-checker';

/**
 * Builds the executable schema; pure (no I/O), so the CLI can print it too.
 * Object types are declared with `simpleResolvers`: no field of theirs has a
 * middleware or its own authorization, so plain fields are read by graphql's
 * default resolver instead of a wrapper per field (most of a sync page's cost).
 */
export function buildSchema(pubSub: AppPubSub): Promise<GraphQLSchema> {
  return build({
    resolvers,
    pubSub,
    authChecker,
    authMode: 'error',
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false, stopAtFirstError: false },
    emitSchemaFile: false,
  });
}
