import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen';

// dist/test/unit -> the repository root, where codegen.ts's relative paths point.
const root = path.resolve(__dirname, '..', '..', '..');

// client/generated.ts is committed so `npm ci && npm test` needs no codegen step; this
// regenerates it in memory from the same config and fails when schema.graphql or
// client/operations.graphql changed without `npm run codegen`.
test('client/generated.ts is what `npm run codegen` produces now', async () => {
  const outputs = await generate({ ...config, cwd: root, silent: true }, false);
  assert.ok(Array.isArray(outputs) && outputs.length > 0, 'codegen produced no output');
  for (const out of outputs as Array<{ filename: string; content: string }>) {
    const committed = readFileSync(path.resolve(root, out.filename), 'utf8');
    assert.ok(committed === out.content, `${out.filename} is stale: run \`npm run codegen\` and commit the result`);
  }
});

test('the generated client does not depend on the server', () => {
  for (const file of ['client/im-client.ts', 'client/generated.ts']) {
    const source = readFileSync(path.join(root, file), 'utf8');
    assert.doesNotMatch(source, /from ['"](\.\.\/)+src\//, `${file} imports from src/`);
  }
});
