import { type DocumentNode, type ExecutionArgs, type ExecutionResult, execute } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/**
 * graphql's `execute` for the socket's queries and mutations, with each
 * operation compiled once (graphql-jit) and run as plain JavaScript after
 * that: a client repeats the same few documents (send, acknowledge, sync), and
 * every execution otherwise walks the document again, coerces its variables
 * and collects its fields. A document graphql-jit cannot compile runs on
 * graphql's own `execute`. Documents are the validated ones kept by
 * onSubscribe, so the cache holds a compiled query per document it holds.
 */
export function compiledExecute(): (args: ExecutionArgs) => Promise<ExecutionResult> | ExecutionResult {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  return (args) => {
    let byName = compiled.get(args.document);
    if (!byName) compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    let q = byName.get(name);
    if (q === undefined) {
      const c = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      byName.set(name, (q = isCompiledQuery(c) ? c : null));
    }
    if (!q) return execute(args);
    return q.query(args.rootValue, args.contextValue, args.variableValues ?? {}) as Promise<ExecutionResult> | ExecutionResult;
  };
}
