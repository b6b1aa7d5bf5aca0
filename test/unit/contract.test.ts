import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSchema as parseSdl, findBreakingChanges, type GraphQLSchema } from 'graphql';
import { printAppSchema } from '../../src/schema/print';
import { IMPLEMENTED_OPERATIONS, IMPLEMENTED_TYPES } from '../contract/implemented';

const root = join(__dirname, '..', '..', '..');
const contractPath = join(root, '..', 'shared', 'contract', 'schema.graphql');

/**
 * Breaking changes from the contract to the emitted schema that concern an
 * implemented type or operation. findBreakingChanges reports "Type.field ..."
 * or "Type ..." in its descriptions; the subject decides whether it counts.
 */
export function contractViolations(contract: GraphQLSchema, emitted: GraphQLSchema): string[] {
  const ops = IMPLEMENTED_OPERATIONS as Record<string, string[]>;
  return findBreakingChanges(contract, emitted)
    .map((c) => c.description)
    .filter((d) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?/.exec(d);
      if (!m) return true;
      const [, type, field] = m;
      if (type in ops) return field !== undefined && ops[type].includes(field);
      return IMPLEMENTED_TYPES.includes(type);
    });
}

test('schema.graphql at the root is the schema the code emits (run `npm run schema`)', async () => {
  const committed = readFileSync(join(root, 'schema.graphql'), 'utf8');
  assert.equal(committed, await printAppSchema(), 'schema.graphql is stale: run `npm run schema` and commit it');
});

test('the emitted schema keeps the contract for every implemented type and operation', async () => {
  const contract = parseSdl(readFileSync(contractPath, 'utf8'));
  const emitted = parseSdl(await printAppSchema());
  assert.deepEqual(contractViolations(contract, emitted), []);
  // Operations named as implemented must really be there, with the contract's arguments.
  for (const [root, names] of Object.entries(IMPLEMENTED_OPERATIONS)) {
    const fields = (root === 'Query' ? emitted.getQueryType() : root === 'Mutation' ? emitted.getMutationType() : emitted.getSubscriptionType())?.getFields() ?? {};
    for (const n of names) assert.ok(fields[n], `${root}.${n} is listed as implemented but missing`);
  }
});

test('the check catches a broken schema: a missing field, a wrong type, a missing argument', () => {
  const contract = parseSdl(readFileSync(contractPath, 'utf8'));
  const broken = parseSdl(
    readFileSync(contractPath, 'utf8')
      .replace('  avatar: String\n  email: String\n  role: Role!', '  email: Int\n  role: Role!')
      .replace('user(id: ID!): User', 'user: User'),
  );
  const v = contractViolations(contract, broken);
  assert.ok(v.some((d) => d.startsWith('User.avatar')), v.join('\n'));
  assert.ok(v.some((d) => d.startsWith('User.email')), v.join('\n'));
  assert.ok(v.some((d) => d.startsWith('Query.user')), v.join('\n'));
});

test('every type and operation of the contract is listed as implemented', () => {
  const contract = parseSdl(readFileSync(contractPath, 'utf8'));
  const types = Object.keys(contract.getTypeMap()).filter((n) => !n.startsWith('__') && !['Query', 'Mutation', 'Subscription', 'String', 'Int', 'Float', 'Boolean', 'ID'].includes(n));
  assert.deepEqual(types.filter((t) => !IMPLEMENTED_TYPES.includes(t)), []);
  for (const [root, type] of [['Query', contract.getQueryType()], ['Mutation', contract.getMutationType()], ['Subscription', contract.getSubscriptionType()]] as const) {
    const missing = Object.keys(type?.getFields() ?? {}).filter((f) => !IMPLEMENTED_OPERATIONS[root].includes(f));
    assert.deepEqual(missing, [], `${root} operations not covered`);
  }
});
