/**
 * Preloaded into the server child (`node -r`). With NODE_ENV other than
 * `test`, the server's SIGTERM shutdown never finishes (Apollo's own
 * termination-signal handler and src/main.ts's both run app.stop; see
 * bench/README.md), so the runner ends the process with SIGUSR2 after a grace
 * period: process.exit(0) still writes the --cpu-prof profile, SIGKILL would not.
 */
process.on('SIGUSR2', () => process.exit(0));
