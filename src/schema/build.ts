import { GraphQLSchema } from 'graphql';
import type { AppPubSub } from '../pubsub';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema as build } from 'type-graphql';
import { resolvers } from '../resolvers';
import { authChecker } from './auth-checker';

/** Builds the executable schema; pure (no I/O), so the CLI can print it too. */
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
