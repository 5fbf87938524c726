import { readFileSync } from "node:fs";
import { loadConfig } from "./config.ts";
import { startLoomServer, type LoomServer } from "./app.ts";
import { safeMessage } from "./describe-error.ts";
import { log, logLevel, routeConsoleToLog } from "./log.ts";
import { installProcessGuards } from "./process-guard.ts";
import { checkServices } from "./service-checks.ts";
import { buildWebClientIfNeeded } from "./web/build.ts";

// Signal handlers go in first: a stop requested while the server starts is honoured as soon as
// it can be (nothing was acknowledged yet), and one requested later flushes every pending turn.
let loom: LoomServer | null = null;
let stopRequested = false;
let exitCode = 0;
/** Until the services answered, nothing is open: a stop asked for then ends the process at once. */
let checking = true;

function stop(code = 0): void {
  exitCode = Math.max(exitCode, code);
  if (stopRequested) return;
  stopRequested = true;
  if (!loom) {
    // waiting on a service that may take LOOM_DATABASE_TIMEOUT_MS to answer, with nothing written
    if (checking) {
      log.info("stopped while checking the services; nothing was opened");
      process.exit(exitCode);
    }
    return; // the web build or the stores' opening finishes, then stops below
  }
  // Whatever hangs (a store that never answers), the process ends; the rooms have logged which
  // turns they could not write (with Redis, the next owner reads them from the live store).
  const limit = loom.services.config.shutdownDrainMs + 20_000;
  setTimeout(() => {
    log.error(`shutdown did not finish within ${limit} ms; exiting`);
    process.exit(1);
  }, limit).unref();
  loom.shutdown().then(
    () => process.exit(exitCode),
    (error: unknown) => {
      log.error("shutdown failed", { err: error });
      process.exit(1);
    },
  );
}

// a library's console output joins the log as JSON lines rather than plain text among them
routeConsoleToLog();
installProcessGuards(() => stop(1));
process.on("SIGINT", () => stop());
process.on("SIGTERM", () => stop());
stopWhenOrphanedByNpm();

/**
 * `npm start` runs this under a shell (`sh -c`). On SIGTERM npm signals that shell, which exits
 * without passing the signal on, so the server would be left running without its supervisor
 * ever knowing. Under npm, a parent that is gone is taken as that SIGTERM. Run directly (`node
 * --import tsx server/src/main.ts`, a service manager), the parent is not watched.
 */
function stopWhenOrphanedByNpm(): void {
  if (process.env.npm_lifecycle_event !== "start") return;
  // the parent as npm-parent.mjs read it at once; a parent already gone is no parent
  const parent = Number(process.env.LOOM_STARTED_BY_PID) || process.ppid;
  // a parent of 1 that is not npm itself (a container's first process) is npm and its shell gone
  // before this process could read who started it
  const orphaned = parent === 1 && !initIsNpm();
  const watch = setInterval(() => {
    if (!orphaned && process.ppid === parent && alive(parent)) return;
    clearInterval(watch);
    log.info("npm, which started this server, is gone: stopping");
    stop();
  }, 250);
  watch.unref();
}

/** Whether process 1 is npm; where that cannot be read, taken to be so (nothing is stopped on a guess). */
function initIsNpm(): boolean {
  try {
    return readFileSync("/proc/1/cmdline", "utf8").includes("npm");
  } catch {
    return true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

try {
  const config = loadConfig();
  // before the web build, which takes a while, and before the stores' clients, which would retry
  await checkServices(config);
  checking = false;
  // `npm start` is the one command: the web client is built first when web/dist is missing or stale
  // (LOOM_WEB_BUILD=off skips it: a process that serves the API only, or a build made elsewhere)
  if (process.env.LOOM_WEB_BUILD !== "off") await buildWebClientIfNeeded();
  loom = await startLoomServer(config);
} catch (error) {
  const reason = `Loom could not start: ${safeMessage(error)}`;
  log.error(reason);
  // silent quiets the log, not the one line that says why the process ended
  if (logLevel() === "silent") process.stderr.write(`${reason}\n`);
  process.exit(1);
}
if (stopRequested) {
  stopRequested = false;
  stop();
}
