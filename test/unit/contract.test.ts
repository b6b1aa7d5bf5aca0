import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema as parseSdl, type GraphQLSchema } from 'graphql';
import { printAppSchema } from '../../src/schema/print';

/** The repository root (this file runs from dist/test/unit). */
const root = join(__dirname, '..', '..', '..');
/** The API of the last release; an intended break replaces it in the same commit. */
const releasedPath = join(root, 'contract', 'v0.graphql');

/**
 * The breaking changes from `released` to `current`, one line each:
 * "<path>: <what changed>" (graphql-inspector's criticality decides what breaks
 * a client: a removed field or type, a changed type, a new required argument, ...).
 */
export async function breakingChanges(released: GraphQLSchema, current: GraphQLSchema): Promise<string[]> {
  const changes = await diff(released, current);
  return changes
    .filter((c) => c.criticality.level === CriticalityLevel.Breaking)
    .map((c) => `${c.path ?? '(schema)'}: ${c.message}`);
}

test('schema.graphql at the root is the schema the code emits (run `npm run schema`)', async () => {
  const committed = readFileSync(join(root, 'schema.graphql'), 'utf8');
  assert.equal(committed, await printAppSchema(), 'schema.graphql is stale: run `npm run schema` and commit it');
});

test('the emitted schema breaks nothing of the released API (contract/v0.graphql)', async () => {
  const released = parseSdl(readFileSync(releasedPath, 'utf8'));
  const current = parseSdl(await printAppSchema());
  const broken = await breakingChanges(released, current);
  assert.deepEqual(
    broken,
    [],
    `breaking changes against contract/v0.graphql:\n  ${broken.join('\n  ')}\n` +
      'If the break is intended, copy schema.graphql over contract/v0.graphql in the same commit.',
  );
});

test('the check catches breaks: a removed field, a changed type, a new required argument, a removed enum value', async () => {
  const sdl = readFileSync(releasedPath, 'utf8');
  const released = parseSdl(sdl);
  const edits: Array<[string, string]> = [
    ['  account: String!\n  avatar: String\n  createdAt: DateTime!\n', '  account: String!\n  createdAt: DateTime!\n'],
    ['for a deleted account.\n  """\n  email: String\n', 'for a deleted account.\n  """\n  email: Int\n'],
    ['user(id: ID!): User', 'user(id: ID!, scope: String!): User'],
    ['  TEXT\n  VIDEO\n}', '  TEXT\n}'],
  ];
  let brokenSdl = sdl;
  for (const [from, to] of edits) {
    assert.ok(brokenSdl.includes(from), `the released API no longer has ${JSON.stringify(from)}: adjust this test`);
    brokenSdl = brokenSdl.replace(from, to);
  }
  const broken = await breakingChanges(released, parseSdl(brokenSdl));
  const has = (prefix: string) => assert.ok(broken.some((b) => b.startsWith(prefix)), `${prefix} not reported:\n${broken.join('\n')}`);
  has('User.avatar:');
  has('User.email:');
  has('Query.user.scope:');
  has('MessageType.VIDEO:');
  // Additions are not breaks: the check must not fail on a growing API.
  const grown = parseSdl(sdl.replace('type Query {', 'type Query {\n  ping: Boolean'));
  assert.deepEqual(await breakingChanges(released, grown), []);
});
