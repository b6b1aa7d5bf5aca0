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
      // No 'typescript' plugin: typescript-operations 6 emits the Input and Enum types the
      // operations use by itself, and with 'typescript' in the same file every one of them is
      // declared twice (TS2300; see the v5 -> v6 migration guide, "One-file setup").
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', ID: 'string' },
        // String unions, not TS enums: type-only, nothing for a browser bundle to carry.
        enumType: 'string-literal',
        useTypeImports: true,
      },
    },
  },
};

export default config;
