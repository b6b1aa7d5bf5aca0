// Builds only what is stale, so `npm start` (via prestart) and `npm test` cost
// well under a second when nothing changed:
//  1. src/wire from proto/im.proto, only when the proto is newer than both outputs;
//  2. TypeScript with `tsc -b` (incremental, tsbuildinfo in dist/, so removing
//     dist/ also forgets the build state);
//  3. the generated wire module beside the compiled code, when it changed.
// Usage: node scripts/build.js [--force-proto] [--no-tsc]
//   --force-proto  regenerate src/wire even when it looks up to date
//   --no-tsc       skip step 2 (scripts/dev.js, whose tsc runs in watch mode)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const at = (...p) => path.join(root, ...p);
const proto = at('proto', 'im.proto');
const wireJs = at('src', 'wire', 'im.js');
const wireDts = at('src', 'wire', 'im.d.ts');
const distWire = at('dist', 'src', 'wire', 'im.js');

/** Modification time in ms, or -Infinity when the file does not exist. */
function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -Infinity;
  }
}

/** Runs a package's JS entry point with this node; exits the build on failure. */
function run(bin, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const pbBin = (name) => path.join(path.dirname(require.resolve('protobufjs-cli/package.json')), 'bin', name);

if (process.argv.includes('--force-proto') || Math.min(mtime(wireJs), mtime(wireDts)) < mtime(proto)) {
  fs.mkdirSync(path.dirname(wireJs), { recursive: true });
  run(pbBin('pbjs'), ['-t', 'static-module', '-w', 'commonjs', '--no-verify', '--no-delimited', '-o', wireJs, proto]);
  run(pbBin('pbts'), ['--no-comments', '-o', wireDts, wireJs]);
}

if (!process.argv.includes('--no-tsc')) run(require.resolve('typescript/bin/tsc'), ['-b', 'tsconfig.json']);

// tsc does not emit plain .js sources: the generated wire module is copied over.
if (mtime(distWire) < mtime(wireJs)) {
  fs.mkdirSync(path.dirname(distWire), { recursive: true });
  fs.copyFileSync(wireJs, distWire);
}
