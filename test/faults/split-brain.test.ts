import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import postgres from "postgres";
import { connect } from "../../client-sdk/src/index.ts";
import { waitFor, type ChildServer } from "../support/server.ts";
import { setTable } from "../support/players.ts";
import { wholeTimeline } from "../support/records.ts";
import { checkIntegrity } from "./integrity.ts";
import { faultSuite, play, reportFaultScenario, tally } from "./harness.ts";

// Finding 1 of the resilience review: Postgres down, and Redis (without persistence) restarted
// meanwhile. The owner's stream, lock and fencing counter are gone while the database is behind.

const suite = faultSuite({ postgres: 2701, redis: 2702 });

function server(port: number): Promise<ChildServer> {
  return suite.server(port, {
    LOOM_LEASE_TTL_MS: "2000",
    LOOM_SHUTDOWN_DRAIN_MS: "1500",
    LOOM_RECONNECT_SECONDS: "0",
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
  // Without the load generator: with other universes' backlogs on the same process, this
  // scenario's reopening outlasted the test's bounds on two cores (its own integrity is the point).
  it("loses no acknowledged turn when the owner closes the universe during the outage", async () => {
    const a = await server(2711);
    const table = await setTable(a.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const own = tally();
    await play(session, alex.characterId, 5, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");

    await suite.pg.stop();
    await play(session, alex.characterId, 10, own); // in Redis only
    await suite.redis.kill();
    await suite.redis.start(); // empty: stream, lock and fencing counter are gone
    // the first append meets a lock that is gone: refused, and the lease is taken again
    for (let tries = 0; tries < 20 && own.acked.length < 20; tries++)
      await play(session, alex.characterId, 1, own);
    expect(own.acked.length).toBe(20);
    await session.leave(); // the room closes while the database is still down
    await waitFor(async () => (await lockOf(table.universeId)) === null, 20_000, "the lease released");

    await suite.pg.start();
    const started = Date.now();
    const b = await server(2712);
    const gm = connect(b.url).useToken(table.gm.playerToken!);
    // Postgres has just come back and process a is writing its backlog: an open may outlast the
    // server's own wait and be refused `unavailable`, which a console answers by asking again
    let watch: Awaited<ReturnType<typeof gm.joinUniverse>> | null = null;
    for (let tries = 0; !watch; tries++) {
      watch = await gm.joinUniverse(table.universeId, { role: "gm" }).catch((error: unknown) => {
        if ((error as { code?: string }).code !== "unavailable" || tries >= 4) throw error;
        return null;
      });
    }
    const reopenedMs = Date.now() - started;
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(own.acked, timeline);
    const figures = reportFaultScenario("redis restart while postgres is down, owner closes", {
      own: integrity,
      ownErrors: own.errors,
    });
    console.log(`the closed universe opened on another process ${reopenedMs} ms after postgres came back`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
    expect(watch.state.head).toBe(timeline.at(-1)!.position);
    await watch.leave();
  });

  it("refuses to open a universe whose stream Redis lost while its owner's turns were not persisted", async () => {
    const a = await server(2713);
    const table = await setTable(a.url, ["Mara"]);
    const mara = table.players[0]!;
    const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
    // No load generator here: every universe of the killed owner loses the turns only the lost
    // stream had, by construction; the scenario is about what happens to them, shown on one.
    const own = tally();
    await play(session, mara.characterId, 3, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");
    await suite.pg.stop();
    await play(session, mara.characterId, 5, own);
    expect(own.acked.length).toBe(8);
    await a.stop("SIGKILL"); // the owner dies with 5 turns in Redis only…
    await suite.redis.kill(); // …and Redis forgets them
    await suite.redis.start();
    await suite.pg.start();

    const b = await server(2714);
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
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(own.acked, timeline);
    reportFaultScenario("redis restart after the owner died unpersisted (refused, then settled by hand)", {
      own: integrity,
      ownErrors: own.errors,
    });
    // what an operator accepts by settling by hand: the turns only the lost stream had
    expect(integrity.lost).toBe(5);
    expect(integrity.duplicated).toBe(0);
    await watch.leave();
  });
});
