import { correctRules, failure } from '../../../src/delivery/rules';
import { check, formatViolation } from './checker';
const guard = (c: any, m: bigint) => (m <= c.lastAck ? failure(c, m) : c);
for (const o of [{ messages: 3, syncLimit: 1 }, { messages: 3, reconnects: 2 }, { messages: 4, syncLimit: 2 }]) {
  const t = Date.now();
  const r = check({ name: 'g', rules: correctRules, offline: guard }, o);
  console.log(JSON.stringify(o), r.states, Date.now() - t, 'ms', r.violation ? formatViolation('g', r.violation) : 'ok');
}
