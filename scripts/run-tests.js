// Node 20's test runner does not expand globs: find the compiled *.test.js files and hand them over.
// Usage: node scripts/run-tests.js [dir under dist/test, e.g. unit]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'dist', 'test', process.argv[2] ?? '');
const files = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js')) files.push(p);
  }
})(root);
files.sort();
const args = ['--test', '--test-timeout=120000', '--test-concurrency=1', ...process.argv.slice(3), ...files];
// Every test process, and every server a test spawns, runs in a zone that is not UTC
// (TEST_TZ picks another): stored and returned times must be UTC whatever the zone.
const env = { ...process.env, TZ: process.env.TEST_TZ || 'Asia/Kolkata' };
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
