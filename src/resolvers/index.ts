import type { NonEmptyArray } from 'type-graphql';
import { AccountResolver } from './account.resolver';
import { RoleResolver, UserResolver } from './user.resolver';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [AccountResolver, UserResolver, RoleResolver];
