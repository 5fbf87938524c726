import { describeError } from "../describe-error.ts";
import { services } from "../services.ts";

/** How long a dependency may take to answer a health or readiness check. */
const PROBE_MS = 1_000;

export interface Dependencies {
  /** Each dependency that did not answer, with why: `database`, `live`. */
  down: Record<string, string>;
}

async function probe(
  name: string,
  check: () => Promise<unknown>,
  down: Record<string, string>,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_MS} ms`)), PROBE_MS);
      }),
    ]);
  } catch (error) {
    down[name] = describeError(error).split("\n")[0]!.slice(0, 300);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the database and the live store for an answer, both at once, each within PROBE_MS. */
export async function checkDependencies(): Promise<Dependencies> {
  const { turnStore, liveStore } = services();
  const down: Record<string, string> = {};
  await Promise.all([
    probe("database", () => turnStore.listUniverses({ limit: 1 }), down),
    probe("live", () => liveStore.ping(), down),
  ]);
  return { down };
}

/**
 * GET /healthz: liveness. The process answers, so it is alive (200) whatever its dependencies
 * do; `degraded` says what does not work and why — a dependency that does not answer, universes
 * whose turns are not reaching the database — for an operator, without a stack in the log at
 * every probe.
 */
export async function health() {
  const { turnStore, liveStore, config, metrics } = services();
  const { down } = await checkDependencies();
  const failing = metrics.persist.read().failing;
  const degraded = {
    ...(Object.keys(down).length > 0 ? { unreachable: down } : {}),
    ...(failing.length > 0 ? { persistFailing: failing } : {}),
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
 * answer), 503 with the reasons otherwise, so a load balancer sends players elsewhere meanwhile.
 */
export async function readiness(): Promise<{
  status: 200 | 503;
  body: { ready: boolean; unreachable?: Record<string, string> };
}> {
  const { down } = await checkDependencies();
  const ready = Object.keys(down).length === 0;
  return { status: ready ? 200 : 503, body: ready ? { ready } : { ready, unreachable: down } };
}
