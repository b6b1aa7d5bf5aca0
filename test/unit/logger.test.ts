import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const logger = join(__dirname, '..', '..', 'src', 'logger.js');

/** What a fresh process prints for one info line, with stdout a pipe (never a terminal here). */
function printed(prettyArg: string): string {
  const code = `require(${JSON.stringify(logger)}).createLogger('info', 'im-server'${prettyArg}).info({ n: 1 }, 'hello')`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('logs are one JSON object per line when stdout is not a terminal', () => {
  const line = JSON.parse(printed('').trim());
  assert.equal(line.msg, 'hello');
  assert.equal(line.n, 1);
});

test('logs are pretty (pino-pretty) when asked, as on a terminal', () => {
  const out = printed(', true');
  assert.throws(() => JSON.parse(out.trim()), 'not JSON');
  assert.match(out, /INFO/);
  assert.match(out, /hello/);
});
