// Runs the compiled tests (Node 20's test runner does not expand globs).
//
//   node scripts/run-tests.js            everything: unit once; integration on the embedded stack;
//                                        integration, faults and multi-node on MariaDB and Redis
//   node scripts/run-tests.js unit       one group: unit | integration | faults
//   TEST_MODE=embedded|cluster           with `integration`: that stack only (default: both)
//
// A test file that needs MariaDB or Redis themselves says so on a line
// `// cluster-only: <why>`; the embedded pass leaves it out and names it.
// A file with a line `// slow: <why>` (an npm install, say) runs on its own,
// beside the next pass (its output is printed when it ends), with a
// 15-minute timeout instead of the usual 2 minutes per test.
// Without MariaDB and Redis the cluster pass is skipped, said plainly at the
// end; under CI=true a skip fails the run, so CI always runs both.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist', 'test');
const group = process.argv[2];
const extra = process.argv.slice(3);

function filesOf(dir) {
  const out = [];
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.js')) out.push(p);
    }
  })(path.join(dist, dir));
  return out.sort();
}

/** The reason a compiled test file gives on a `// <marker>: <why>` line, or undefined. */
function marked(file, marker) {
  const m = new RegExp(`^// ${marker}: (.*)$`, 'm').exec(fs.readFileSync(file, 'utf8'));
  return m ? m[1] : undefined;
}
const clusterOnly = (file) => marked(file, 'cluster-only');

const queued = [];
const background = [];
/** Starts the slow files queued so far, beside whatever runs next. */
const startQueued = () => queued.splice(0).forEach((start) => background.push(start()));

/**
 * Runs the files; resolves with the exit status. Files marked slow wait for
 * the next pass and run beside it (awaited at the end): beside their own
 * pass they would slow its timing-sensitive tests down.
 */
async function run(label, files, mode) {
  startQueued();
  const slow = files.filter((f) => marked(f, 'slow'));
  const rest = files.filter((f) => !slow.includes(f));
  if (slow.length) queued.push(() => runFiles(`${label}, slow files`, slow, mode, 900_000, true));
  return rest.length ? runFiles(label, rest, mode, 120_000, false) : 0;
}

function runFiles(label, files, mode, timeoutMs, buffered) {
  const header = `\n# ${label}: ${files.length} files${mode ? ` (TEST_MODE=${mode})` : ''}`;
  if (!buffered) console.log(header);
  const args = ['--test', `--test-timeout=${timeoutMs}`, '--test-concurrency=1', ...extra, ...files];
  // Every test process, and every server a test spawns, runs in a zone that is not UTC
  // (TEST_TZ picks another): stored and returned times must be UTC whatever the zone.
  const env = { ...process.env, TZ: process.env.TEST_TZ || 'Asia/Kolkata', ...(mode ? { TEST_MODE: mode } : {}) };
  const child = spawn(process.execPath, args, { stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit', env });
  let out = '';
  if (buffered) {
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
  }
  return new Promise((resolve) =>
    child.once('close', (code) => {
      if (buffered) process.stdout.write(`${header} (ran beside the passes above)\n${out}`);
      resolve(code ?? 1);
    }),
  );
}

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, timeout: 1000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

(async () => {
  const groups = group ? [group] : ['unit', 'integration', 'faults'];
  const modes = process.env.TEST_MODE ? [process.env.TEST_MODE] : ['embedded', 'cluster'];
  const skipped = [];
  let status = 0;
  const clusterUp = (await answers(3306)) && (await answers(6379));
  for (const g of groups) {
    const files = filesOf(g);
    if (g === 'unit') {
      status = (await run('unit', files)) || status;
      continue;
    }
    for (const mode of g === 'integration' ? modes : ['cluster']) {
      if (mode === 'embedded') {
        const left = files.filter(clusterOnly);
        status = (await run(`${g} on the embedded stack`, files.filter((f) => !clusterOnly(f)), 'embedded')) || status;
        if (left.length) {
          console.log(`\n# left out of the embedded pass (they run on the cluster stack):`);
          for (const f of left) console.log(`#   ${path.relative(dist, f)}: ${clusterOnly(f)}`);
        }
      } else if (!clusterUp) {
        skipped.push(`${g} on MariaDB and Redis (${files.length} files): nothing answers on 127.0.0.1:3306 and 127.0.0.1:6379`);
      } else {
        status = (await run(`${g} on MariaDB and Redis`, files, 'cluster')) || status;
      }
    }
  }
  startQueued();
  for (const s of await Promise.all(background)) status = s || status;
  if (skipped.length) {
    console.log(`\n# SKIPPED, because MariaDB and Redis are not running here:`);
    for (const s of skipped) console.log(`#   ${s}`);
    console.log('# Start them (see README) and run `npm test` again to run these too.');
    if (process.env.CI === 'true') {
      console.log('# CI=true: a skipped part fails the run.');
      status ||= 1;
    }
  }
  process.exit(status);
})();
