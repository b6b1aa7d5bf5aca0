import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// Every client pipelines automatically (src/redis.ts createRedis), where ioredis's
// `defineCommand` is only safe before the client's first command; a lazy one crashed
// nodes restarted under traffic. So Lua runs through LuaScript (plain EVALSHA, EVAL on
// NOSCRIPT) and nowhere else. This keeps the rule for code written later.

const SRC = path.join(__dirname, '..', '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'wire' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('no source defines a Redis command or runs EVAL/EVALSHA itself: scripts go through LuaScript', () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    const rel = path.relative(SRC, file);
    if (rel === 'redis.ts') continue;
    const text = readFileSync(file, 'utf8');
    for (const [i, line] of text.split('\n').entries()) {
      if (/\bdefineCommand\s*\(|\.eval(sha)?\s*\(|\.call\s*\(\s*['"]eval/i.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    }
  }
  assert.ok(sources(SRC).length > 20, 'the sources were found');
  assert.deepEqual(offenders, []);
});
