import { correctRules, failure, syncAck, type RuleSet } from '../../../src/delivery/rules';
import { check, formatViolation, type ModelRules } from './checker';
const guard = (c: any, m: bigint) => (m <= c.lastAck ? failure(c, m) : c);
const trusting: RuleSet = { ...correctRules, syncAck: (c, t, u, _p) => syncAck(c, { ...t, version: c.version, present: true }, u, true) };
const variants: ModelRules[] = [
  { name: 'correct', rules: correctRules },
  { name: 'correct+guard', rules: correctRules, offline: guard },
  { name: 'rmw', rules: correctRules, readModifyWrite: true, offline: guard },
  { name: 'nofence', rules: { ...correctRules, fence: (c) => c }, offline: guard },
  { name: 'trusting', rules: trusting, offline: guard },
];
for (const v of variants) {
  const t = Date.now();
  const r = check(v);
  console.log(v.name, r.states, Date.now() - t, 'ms');
  if (r.violation) console.log(formatViolation(v.name, r.violation));
}
