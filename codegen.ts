import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed client documents for client/im-client.ts. The output is committed so
 * `npm ci && npm test` needs no codegen step; test/unit/client-codegen.test.ts
 * regenerates it in memory and fails when the committed file is stale.
 * No hooks (prettier etc.): the test compares the raw generator output.
 */
const config: CodegenConfig = {
  schema: './schema.graphql',
  documents: 'client/operations.graphql',
  overwrite: true,
  generates: {
    'client/generated.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', ID: 'string' },
        // Only the types the operations use: the client does not churn on unrelated schema edits.
        onlyOperationTypes: true,
        // Enums as string unions: type-only, nothing for a browser bundle to carry.
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
