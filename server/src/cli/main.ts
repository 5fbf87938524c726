import { setTimeout as wait } from "node:timers/promises";
import { runCli } from "./program.ts";
import { installNativeSha256 } from "../native-sha256.ts";

installNativeSha256();
// stdout is the command's output (an export piped on, a state as JSON): the log writes to stderr
process.env.LOOM_LOG_DESTINATION = "stderr";
// Ctrl-C asks the command to stop at its next step, so that an import rolls back and the embedded
// database is closed rather than abandoned mid-write (PGlite may not open again after that). A
// second one is the operator insisting: the process ends at once.
const interrupt = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  });
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  sleep: (ms) => wait(ms, undefined, { signal: interrupt.signal }).catch(() => undefined),
  signal: interrupt.signal,
});
// PGlite and postgres.js may keep handles a moment after closing; the command is done.
process.exitCode = code;
setTimeout(() => process.exit(code), 100).unref();
