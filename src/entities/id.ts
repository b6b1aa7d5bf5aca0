import { BigIntType } from '@mikro-orm/core';

/** Ids are BIGINT in MariaDB and decimal strings everywhere in code (GraphQL ID, JSON, Redis). */
export const idType = () => new BigIntType('string');
