import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printAppSchema } from '../schema/print';

printAppSchema().then((sdl) => {
  const out = join(__dirname, '..', '..', '..', 'schema.graphql');
  writeFileSync(out, sdl);
  console.log(`wrote ${out}`);
});
