import type { ApolloServerPlugin } from '@apollo/server';
import { type DocumentNode, type GraphQLSchema, getOperationAST, Kind, type OperationDefinitionNode } from 'graphql';
import type { OperationMetrics } from './metrics';

/** The label of an operation that could not be parsed, resolved, or names no field of the schema. */
export const INVALID_OPERATION = '(invalid)';

const META_FIELDS = new Set(['__typename', '__schema', '__type']);

/**
 * The metrics label of an operation: its first root field (`sendMessage`,
 * `messages`), only if the schema has it, so a client cannot create series
 * by sending made-up names (operation names are the client's, so they are
 * not used). Cached per parsed document; both transports keep their
 * documents, so a repeated operation costs a map lookup.
 */
export function operationLabeler(schema: GraphQLSchema) {
  const cache = new WeakMap<DocumentNode, Map<string, string>>();
  const ofOperation = (op: OperationDefinitionNode | null | undefined): string => {
    if (!op) return INVALID_OPERATION;
    const field = op.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
    if (!field || field.kind !== Kind.FIELD) return INVALID_OPERATION;
    const name = field.name.value;
    return META_FIELDS.has(name) || schema.getRootType(op.operation)?.getFields()[name] ? name : INVALID_OPERATION;
  };
  return {
    ofOperation,
    of(document: DocumentNode, operationName?: string | null): string {
      let byName = cache.get(document);
      if (!byName) cache.set(document, (byName = new Map()));
      const key = operationName ?? '';
      let label = byName.get(key);
      if (label === undefined) byName.set(key, (label = ofOperation(getOperationAST(document, operationName ?? undefined))));
      return label;
    },
  };
}

/**
 * Counts every HTTP operation once, when its response is sent: its root
 * field and `ok` or the code of its first error (already formatted, so the
 * same code the client sees).
 */
export function operationsPlugin(metrics: OperationMetrics, schema: GraphQLSchema): ApolloServerPlugin {
  const label = operationLabeler(schema);
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          const body = rc.response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          const outcome = errors?.length ? String(errors[0].extensions?.code ?? 'INTERNAL_SERVER_ERROR') : 'ok';
          const operation = label.ofOperation(rc.operation);
          metrics.operation('http', operation, outcome);
        },
      };
    },
  };
}
