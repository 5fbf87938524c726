import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import postgres from "postgres";
import { connect } from "../../client-sdk/src/index.ts";
import { waitFor, type ChildServer } from "../support/server.ts";
import { setTable } from "../support/players.ts";
import { wholeTimeline } from "../support/records.ts";
import { checkIntegrity } from "./integrity.ts";
import { faultSuite, play, reportFaultScenario, steadyLoad, tally } from "./harness.ts";

// Finding 1 of the resilience review: Postgres down, and Redis (without persistence) restarted
// meanwhile. The owner's stream, lock and fencing counter are gone while the database is behind.

const suite = faultSuite({ postgres: 2701, redis: 2702 });

const LEASE_TTL_MS = 2_000;

function server(port: number): Promise<ChildServer> {
  return suite.server(port, {
    LOOM_LEASE_TTL_MS: String(LEASE_TTL_MS),
    LOOM_SHUTDOWN_DRAIN_MS: "1500",
    LOOM_RECONNECT_SECONDS: "0",
    // the "opened universe" lines say what an open took
    LOOM_LOG_LEVEL: "info",
  });
}

async function lockOf(universeId: string): Promise<string | null> {
  const client = new Redis(suite.redis.url, { maxRetriesPerRequest: 1 });
  try {
    return await client.get(`loom:u:{${universeId}}:lock`);
  } finally {
    client.disconnect();
  }
}

describe("faults: a Redis restart while Postgres is behind", () => {
  it("loses no acknowledged turn when the owner closes the universe during the outage", async () => {
    // the deployment's two processes, both up through the faults
    const [a, b] = await Promise.all([server(2711), server(2712)]);
    const table = await setTable(a.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    // the load's universes stay open on the same process through both faults, and their backlog
    // goes to the database while the closed universe opens on the other process
    const load = await steadyLoad(a.url, { servers: [b.url] });
    const own = tally();
    await play(session, alex.characterId, 5, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");

    await suite.pg.stop();
    await play(session, alex.characterId, 10, own); // in Redis only
    await suite.redis.kill();
    load.faultStarts();
    await suite.redis.start(); // empty: stream, lock and fencing counter are gone
    // the first append meets a lock that is gone: refused, and the lease is taken again
    for (let tries = 0; tries < 20 && own.acked.length < 20; tries++)
      await play(session, alex.characterId, 1, own);
    expect(own.acked.length).toBe(20);
    const loadServedMs = await load.servedAgain();
    await session.leave(); // the room closes while the database is still down
    await waitFor(async () => (await lockOf(table.universeId)) === null, 20_000, "the lease released");
    // the load's backlog grows a little longer while the database is down
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    await suite.pg.start();
    const started = Date.now();
    const gm = connect(b.url).useToken(table.gm.playerToken!);
    // opened at the first ask, while process a writes its backlog: nothing of a's holds it
    const watch = await gm.joinUniverse(table.universeId, { role: "gm" });
    const reopenedMs = Date.now() - started;
    await waitFor(
      async () => ((await (await fetch(`${a.url}/healthz`)).json()) as { status: string }).status === "ok",
      20_000,
      "process a's backlog written",
    );
    const drainedMs = Date.now() - started;
    const loadOutcome = await load.finish();
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(own.acked, timeline);
    const figures = reportFaultScenario("redis restart while postgres is down, owner closes", {
      own: integrity,
      ownErrors: own.errors,
      load: loadOutcome,
      servedAgainMs: loadServedMs,
    });
    const opened = b.logs().find((entry) => entry.msg.startsWith(`opened universe ${table.universeId}`));
    console.log(
      `after postgres came back: the closed universe opened on the other process in ${reopenedMs} ms ` +
        `(its open ${String(opened?.openMs)} ms), process a wrote its backlog in ${drainedMs} ms`,
    );
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
    expect(watch.state.head).toBe(timeline.at(-1)!.position);
    // prompt, well within the open's own wait (the lease's TTL + 5 s): neither the owner's backlog
    // nor its renewals (which took the closed universe's lease again) may hold it
    expect(reopenedMs).toBeLessThan(LEASE_TTL_MS + 2_000);
    await watch.leave();
  });

  it("refuses to open a universe whose stream Redis lost while its owner's turns were not persisted", async () => {
    const [a, b] = await Promise.all([server(2713), server(2714)]);
    const table = await setTable(a.url, ["Mara"]);
    const mara = table.players[0]!;
    const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
    // The load runs on the process that survives: every universe of the killed owner loses the
    // turns only the lost stream had, by construction (this scenario shows what happens to them,
    // on one); the survivor's universes go through the same outage and Redis restart, and lose
    // nothing, since their owner still holds their unpersisted turns and writes them back.
    const load = await steadyLoad(b.url);
    const own = tally();
    await play(session, mara.characterId, 3, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");
    await suite.pg.stop();
    await play(session, mara.characterId, 5, own);
    expect(own.acked.length).toBe(8);
    await a.stop("SIGKILL"); // the owner dies with 5 turns in Redis only…
    await suite.redis.kill(); // …and Redis forgets them
    load.faultStarts();
    await suite.redis.start();
    const loadServedMs = await load.servedAgain();
    await suite.pg.start();

    const gm = connect(b.url).useToken(table.gm.playerToken!);
    // not opened from the database's head, which would hand the lost turns' positions out again
    const refused = await gm.joinUniverse(table.universeId, { role: "gm" }).then(
      () => null,
      (error: unknown) => error as Error & { code?: string; status?: number },
    );
    expect(refused?.message).toMatch(/live stream is gone/);
    const sql = postgres(suite.pg.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<Array<{ head: number }>>`
        select head_position as head from universes where id = ${table.universeId}`;
      expect(row!.head).toBeLessThan(own.acked.at(-1)!.position);
      // the operator's way out when that owner is gone for good (README, "When Redis loses its data")
      await sql`update universe_leases set settled_token = lease_token where universe_id = ${table.universeId}`;
    } finally {
      await sql.end();
    }
    const watch = await gm.joinUniverse(table.universeId, { role: "gm" });
    const loadOutcome = await load.finish();
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(own.acked, timeline);
    const figures = reportFaultScenario(
      "redis restart after the owner died unpersisted (refused, then settled by hand)",
      { own: integrity, ownErrors: own.errors, load: loadOutcome, servedAgainMs: loadServedMs },
    );
    // what an operator accepts by settling by hand: the turns only the lost stream had
    expect(integrity.lost).toBe(5);
    expect(integrity.duplicated).toBe(0);
    // and only those: the surviving process's universes lost and repeated nothing
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    expect(figures).toMatchObject({ lost: 5, duplicated: 0 });
    await watch.leave();
  });
});
