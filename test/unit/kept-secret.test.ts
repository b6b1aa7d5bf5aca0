import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { keptJwtSecret } from '../../src/kept-secret';
import { StartupError } from '../../src/startup';

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'im-kept-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('DATA_DIR defaults to ./data and can be set', () => {
  assert.equal(loadConfig({}).dataDir, './data');
  assert.equal(loadConfig({ DATA_DIR: 'var/im' }).dataDir, 'var/im');
});

test('the development JWT secret is made once (32 random bytes, owner-only) and read back on the next start', (t) => {
  const dir = join(scratch(t), 'nested', 'data');
  const first = keptJwtSecret(dir);
  assert.ok(Buffer.byteLength(first) >= 32);
  assert.equal(keptJwtSecret(dir), first, 'a restart reads the same secret');
  assert.equal(readFileSync(join(dir, 'jwt-secret'), 'utf8').trim(), first);
  if (process.platform !== 'win32') assert.equal(statSync(join(dir, 'jwt-secret')).mode & 0o077, 0);
  assert.notEqual(keptJwtSecret(join(dir, 'other')), first, 'another data directory gets its own secret');
});

test('a kept secret under 32 bytes, or a data directory that cannot be written, is a one-line StartupError', (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'jwt-secret'), 'short\n');
  assert.throws(() => keptJwtSecret(dir), (e: unknown) => e instanceof StartupError && /fewer than 32 bytes/.test(e.message) && !e.message.includes('\n'));
  // A file where the directory should be: no OS lets that be written into, root included.
  const blocker = join(dir, 'not-a-dir');
  writeFileSync(blocker, '');
  chmodSync(blocker, 0o400);
  assert.throws(() => keptJwtSecret(join(blocker, 'data')), (e: unknown) => e instanceof StartupError && /DATA_DIR/.test(e.message) && !e.message.includes('\n'));
});
