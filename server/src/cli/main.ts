import { runCli } from "./program.ts";
import { installNativeSha256 } from "../native-sha256.ts";

installNativeSha256();
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
// PGlite and postgres.js may keep handles a moment after closing; the command is done.
process.exitCode = code;
setTimeout(() => process.exit(code), 100).unref();
