#!/usr/bin/env node
import { runCli } from './program.js';

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  stderrIsTty: process.stderr.isTTY === true,
  stopSignal: stop.signal,
}).then(
  (status) => {
    // Whatever a client left running (timers, sockets) must not hold the process: flush and go.
    process.exitCode = status;
    process.stdout.write('', () => process.exit(status));
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
