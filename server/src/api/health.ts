import { describeError, errorClass } from "../describe-error.ts";
import { services } from "../services.ts";

/** How long a dependency may take to answer a health or readiness check. */
const PROBE_MS = 1_000;

export interface Dependencies {
  /** Each dependency that did not answer (`database`, `live`), with its error. */
  down: Record<string, unknown>;
}

async function probe(
  name: string,
  check: () => Promise<unknown>,
  down: Record<string, unknown>,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        // classed `timeout`, as the fault log counts it, for callers shown only the class
        const noAnswer = Object.assign(new Error(`no answer within ${PROBE_MS} ms`), { code: "timeout" });
        timer = setTimeout(() => reject(noAnswer), PROBE_MS);
      }),
    ]);
  } catch (error) {
    down[name] = error;
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the database and the live store for an answer, both at once, each within PROBE_MS. */
export async function checkDependencies(): Promise<Dependencies> {
  const { turnStore, liveStore } = services();
  const down: Record<string, unknown> = {};
  await Promise.all([
    probe("database", () => turnStore.listUniverses({ limit: 1 }), down),
    probe("live", () => liveStore.ping(), down),
  ]);
  return { down };
}

/**
 * Why each dependency did not answer. Anyone reads the error's class (`ECONNREFUSED`, `timeout`, a
 * SQLSTATE), which is what a dashboard needs; an operator reads its first line too, which names
 * internal hosts and addresses (`connect ECONNREFUSED 10.0.3.7:6379`).
 */
function reasons(down: Record<string, unknown>, operator: boolean): Record<string, string> {
  return Object.fromEntries(
    Object.entries(down).map(([name, error]) => [
      name,
      operator ? describeError(error).split("\n")[0]!.slice(0, 300) : errorClass(error),
    ]),
  );
}

/**
 * GET /healthz: liveness. The process answers, so it is alive (200) whatever its dependencies
 * do; `degraded` says what does not work — a dependency that does not answer, universes whose
 * turns are not reaching the database — without a stack in the log at every probe. Which
 * universes, and the errors' own words, only to an operator (operator.ts): a private universe's
 * id is its members' to know, and an error names the hosts behind the server.
 */
export async function health(operator: boolean) {
  const { turnStore, liveStore, config, metrics } = services();
  const { down } = await checkDependencies();
  const persist = metrics.persist.read();
  const degraded = {
    ...(Object.keys(down).length > 0 ? { unreachable: reasons(down, operator) } : {}),
    ...(persist.failingUniverses > 0
      ? {
          failingUniverses: persist.failingUniverses,
          ...(operator ? { persistFailing: persist.failing } : {}),
        }
      : {}),
  };
  const isDegraded = Object.keys(degraded).length > 0;
  return {
    ok: true as const,
    status: isDegraded ? ("degraded" as const) : ("ok" as const),
    ...(isDegraded ? { degraded } : {}),
    store: turnStore.driver,
    live: liveStore.kind,
    mode: config.databaseUrl || config.redisUrl ? ("distributed" as const) : ("embedded" as const),
  };
}

/**
 * GET /readyz: readiness. 200 when this process can take new work (its database and live store
 * answer), 503 with the reasons otherwise (their words to an operator only), so a load balancer
 * sends players elsewhere meanwhile.
 */
export async function readiness(operator: boolean): Promise<{
  status: 200 | 503;
  body: { ready: boolean; unreachable?: Record<string, string> };
}> {
  const { down } = await checkDependencies();
  const ready = Object.keys(down).length === 0;
  return {
    status: ready ? 200 : 503,
    body: ready ? { ready } : { ready, unreachable: reasons(down, operator) },
  };
}
