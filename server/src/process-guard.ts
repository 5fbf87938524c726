import { log } from "./log.ts";

/**
 * Errors after which this process cannot go on serving: the listening socket is gone or was
 * never there, or memory ran out. Anything else that escapes a handler is a bug in one request
 * or one universe, and the rest of the universes keep being served.
 */
const FATAL_CODES = new Set(["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "ERR_WORKER_OUT_OF_MEMORY"]);

export function isFatal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && FATAL_CODES.has(code);
}

let installed = false;

/**
 * Loom's own last line of defence: an unhandled rejection or an uncaught exception is logged and
 * the process keeps serving, whichever libraries did or did not install handlers of their own
 * (a monitoring library that exits when it holds the only handler then no longer does). A fatal
 * error (see isFatal) calls `onFatal`, which should shut down cleanly.
 */
export function installProcessGuards(onFatal: (error: unknown) => void): void {
  if (installed) return;
  let fatal = false;
  const exception = (error: unknown) => {
    if (isFatal(error)) {
      log.error("fatal error; shutting down", { err: error });
      if (!fatal) {
        fatal = true;
        onFatal(error);
      }
      return;
    }
    log.error("uncaught exception (serving on)", { err: error });
  };
  const rejection = (reason: unknown) => {
    if (isFatal(reason)) return exception(reason);
    log.error("unhandled promise rejection (serving on)", { err: reason });
  };
  installed = true;
  process.on("unhandledRejection", rejection);
  process.on("uncaughtException", exception);
}
