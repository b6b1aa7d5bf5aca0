// npm run dev: compile in watch mode and restart the server after every
// compile that ends without errors. A change to proto/im.proto regenerates
// src/wire, which the watching compiler then picks up. Ctrl-C (or SIGTERM)
// stops the server first, then the compiler.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(__dirname, 'build.js');
const main = path.join(root, 'dist', 'src', 'main.js');
const proto = path.join(root, 'proto', 'im.proto');
const say = (msg) => process.stdout.write(`[dev] ${msg}\n`);

// The wire module first: the compiler needs src/wire/im.d.ts.
if (spawnSync(process.execPath, [build, '--no-tsc'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);

let server = null;
let started = false;
let stopping = false;
/** The restart in progress; restarts run one after another. */
let chain = Promise.resolve();

/** Stops the running server (SIGTERM, then SIGKILL after 10 s); resolves when it has exited. */
function stopServer() {
  const child = server;
  server = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function restart() {
  chain = chain.then(async () => {
    await stopServer();
    if (stopping) return;
    say(started ? 'restarting the server' : 'starting the server');
    started = true;
    const child = spawn(process.execPath, [main], { cwd: root, stdio: 'inherit' });
    child.once('exit', (code, signal) => {
      if (server === child && !stopping) say(`the server exited (${signal ?? code}); waiting for a change`);
      if (server === child) server = null;
    });
    server = child;
  });
}

const tsc = spawn(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.json', '--watch', '--preserveWatchOutput'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let pending = '';
tsc.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString('utf8');
  const lines = pending.split('\n');
  pending = lines.pop();
  for (const line of lines) {
    const m = /Found (\d+) errors?\. Watching for file changes/.exec(line);
    if (m && m[1] === '0') restart();
    else if (m) say('not restarting: fix the errors above');
  }
});
tsc.once('exit', (code) => {
  if (!stopping) {
    say(`the compiler exited (${code}); stopping`);
    shutdown();
  }
});

fs.watchFile(proto, { interval: 1000 }, () => {
  spawnSync(process.execPath, [build, '--no-tsc'], { cwd: root, stdio: 'inherit' });
});

function shutdown() {
  if (stopping) return;
  stopping = true;
  fs.unwatchFile(proto);
  chain
    .then(stopServer)
    .then(() => {
      if (tsc.exitCode === null) tsc.kill('SIGTERM');
      process.exit(0);
    });
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
