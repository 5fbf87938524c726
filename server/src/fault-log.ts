import { errorClass, safeMessage } from "./describe-error.ts";

export { errorClass };
import { log } from "./log.ts";

/** The dependencies whose failures an operator must see: the database and the live store. */
export type Dependency = "database" | "live-store";

interface Failing {
  since: number;
  failures: number;
  universes: Set<string>;
  codes: Set<string>;
  /** What still fails: universes, and "" for calls that concern none. */
  open: Set<string>;
}

/** Driver codes that say a dependency cannot be reached now, whichever it is. */
const UNREACHABLE = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "timeout",
]);

/**
 * True when `error` says a dependency is down or overloaded rather than that the request was
 * wrong: a connection refused, reset or timed out, Redis's connection closed, or a SQLSTATE of
 * class 08 (connection), 53 (insufficient resources: a full disk), 57 (operator intervention: a
 * shutdown or restart under way) or 58 (system error). Such a request may work once it recovers.
 */
export function isDependencyFailure(error: unknown): boolean {
  const code = errorClass(error);
  if (UNREACHABLE.has(code) || /^(08|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
  return (
    error instanceof Error &&
    (error.name === "MaxRetriesPerRequestError" || error.message === "Connection is closed.")
  );
}

/**
 * Failures of a dependency, logged once per change of state: the first failure (with its code,
 * the universe and how many turns wait), then nothing while it keeps failing, then one line when
 * it works again (how long, how many failures, how many universes). Never the failed call's
 * payload: messages pass through safeMessage. Every failure is counted by dependency and class
 * for GET /metrics (`loom_dependency_errors_total`) and /metrics.json (`errors`).
 */
export class FaultLog {
  private readonly failing = new Map<Dependency, Failing>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  failed(
    dependency: Dependency,
    error: unknown,
    context: { universeId?: string; turns?: number } = {},
  ): void {
    const code = errorClass(error);
    const key = `${dependency}:${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const state = this.failing.get(dependency);
    if (state) {
      state.failures += 1;
      state.open.add(context.universeId ?? "");
      if (context.universeId) state.universes.add(context.universeId);
      if (!state.codes.has(code)) {
        state.codes.add(code);
        log.warn(`${dependency} now also fails with ${code}: ${safeMessage(error)}`, {
          dependency,
          code,
          ...(context.universeId ? { universeId: context.universeId } : {}),
        });
      }
      return;
    }
    this.failing.set(dependency, {
      since: this.now(),
      failures: 1,
      universes: new Set(context.universeId ? [context.universeId] : []),
      codes: new Set([code]),
      open: new Set([context.universeId ?? ""]),
    });
    const where = context.universeId ? `; universe ${context.universeId}` : "";
    const turns = context.turns === undefined ? "" : `, ${context.turns} turns waiting`;
    log.error(
      `${dependency} failing [${code}]: ${safeMessage(error)}${where}${turns}; ` +
        "further failures are counted in GET /metrics (loom_dependency_errors_total) until it works again",
      {
        dependency,
        code,
        ...(context.universeId ? { universeId: context.universeId } : {}),
        ...(context.turns === undefined ? {} : { turns: context.turns }),
      },
    );
  }

  /**
   * A call to the dependency worked (for `universeId`, when it concerned one). Once nothing that
   * failed still fails, one line says it recovered: a universe the database refuses stays failing
   * while the others write, rather than flapping between the two states at every write.
   */
  recovered(dependency: Dependency, universeId?: string): void {
    const state = this.failing.get(dependency);
    if (!state) return;
    if (universeId === undefined) state.open.clear();
    else {
      state.open.delete(universeId);
      state.open.delete("");
    }
    if (state.open.size > 0) return;
    this.failing.delete(dependency);
    log.info(
      `${dependency} works again after ${this.now() - state.since} ms: ${state.failures} failed calls ` +
        `(${[...state.codes].join(", ")}) in ${state.universes.size} universes`,
      { dependency, failures: state.failures, ms: this.now() - state.since },
    );
  }

  /**
   * A universe closed in this process: whatever failed for it no longer fails here. If it was the
   * last, the dependency counts as working (a later failure is logged again).
   */
  closed(dependency: Dependency, universeId: string): void {
    const state = this.failing.get(dependency);
    if (!state?.open.delete(universeId) || state.open.size > 0) return;
    this.failing.delete(dependency);
    log.info(
      `${dependency}: the universes it failed for have closed here, after ${this.now() - state.since} ms and ` +
        `${state.failures} failed calls (${[...state.codes].join(", ")})`,
      { dependency, failures: state.failures, ms: this.now() - state.since },
    );
  }

  isFailing(dependency: Dependency): boolean {
    return this.failing.has(dependency);
  }

  /** Failures since the process started, by `dependency:class`. */
  read(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** The process's fault log (rooms, persisters and the live store report to it). */
export const faults = new FaultLog();
