import { type DocumentNode, type ExecutionArgs, type ExecutionResult, execute, subscribe } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/** One compiled query per (validated document, operation name); null where graphql-jit cannot compile it. */
function compiler() {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  return (args: ExecutionArgs): CompiledQuery | null => {
    let byName = compiled.get(args.document);
    if (!byName) compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    let q = byName.get(name);
    if (q === undefined) {
      const c = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      byName.set(name, (q = isCompiledQuery(c) ? c : null));
    }
    return q;
  };
}

/**
 * graphql's `execute` and `subscribe` for the socket, with each operation
 * compiled once (graphql-jit) and run as plain JavaScript after that: a
 * client repeats the same few documents (send, acknowledge, sync, the
 * messages subscription), and every execution otherwise walks the document
 * again, coerces its variables and collects its fields; its results are also
 * plain objects, which JSON.stringify takes on its fast path (graphql's are
 * null-prototype objects). A document graphql-jit cannot compile runs on
 * graphql's own functions. Documents are the validated ones onSubscribe
 * keeps, so the cache holds a compiled query per document it holds.
 */
export function compiledOperations() {
  const compile = compiler();
  return {
    execute: (args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult => {
      const q = compile(args);
      if (!q) return execute(args);
      return q.query(args.rootValue, args.contextValue, args.variableValues ?? {}) as Promise<ExecutionResult> | ExecutionResult;
    },
    subscribe: (args: ExecutionArgs) => {
      const q = compile(args);
      if (!q?.subscribe) return subscribe(args);
      return q.subscribe(args.rootValue, args.contextValue, args.variableValues ?? {});
    },
  };
}
