import { getNamedType, type GraphQLInputType, isInputObjectType, isScalarType } from 'graphql';
import { createMemoryPubSub } from '../../src/pubsub';
import { buildSchema } from '../../src/schema/build';

/** Whether an argument type holds an ID, directly or inside input objects. */
export function takesId(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (isScalarType(named)) return named.name === 'ID';
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((f) => takesId(f.type, seen));
}

/** Every Query and Mutation field with an argument that holds an ID. */
export async function idTakingFields(): Promise<string[]> {
  const schema = await buildSchema(createMemoryPubSub());
  const roots = [schema.getQueryType(), schema.getMutationType()];
  return roots.flatMap((root) =>
    Object.values(root?.getFields() ?? {}).filter((f) => f.args.some((a) => takesId(a.type))).map((f) => f.name),
  );
}

/** The fields of an object type of the schema, by name. */
export async function fieldsOf(typeName: string): Promise<string[]> {
  const schema = await buildSchema(createMemoryPubSub());
  const type = schema.getType(typeName) as { getFields?: () => Record<string, unknown> } | undefined;
  return Object.keys(type?.getFields?.() ?? {});
}
