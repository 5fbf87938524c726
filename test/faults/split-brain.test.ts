import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import postgres from "postgres";
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";
import { spawnServer, testPort, waitFor, type ChildServer } from "../support/server.ts";
import { overcome, setTable } from "../support/players.ts";
import {
  startPostgres,
  startRedis,
  type PostgresInstance,
  type RedisInstance,
} from "../support/instances.ts";
import { wholeTimeline } from "../support/records.ts";
import { checkIntegrity, reportScenario, type Acked } from "./integrity.ts";

// Finding 1 of the resilience review: Postgres down, and Redis (without persistence) restarted
// meanwhile. The owner's stream, lock and fencing counter are gone while the database is behind.

let pg: PostgresInstance;
let redis: RedisInstance;
const children: ChildServer[] = [];

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(testPort(2701)), startRedis(testPort(2702))]);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  await redis?.start(); // if a scenario left it stopped
  await pg?.start();
});
afterAll(async () => {
  await Promise.all([pg?.close(), redis?.close()]);
});

function env(): Record<string, string> {
  return {
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    LOOM_LEASE_TTL_MS: "2000",
    LOOM_SHUTDOWN_DRAIN_MS: "1500",
    LOOM_RECONNECT_SECONDS: "0",
  };
}

async function server(port: number): Promise<ChildServer> {
  const child = await spawnServer(env(), port);
  children.push(child);
  return child;
}

/** Acts `count` times; acknowledged turns are recorded, refusals counted by code. */
async function play(
  session: UniverseSession,
  characterId: string,
  count: number,
  acked: Acked[],
  errors: Record<string, number>,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await session.act(overcome(characterId), { timeoutMs: 5_000 });
    if (result.ok) acked.push({ position: result.turn.position, id: result.turn.id });
    else errors[result.rejection.code] = (errors[result.rejection.code] ?? 0) + 1;
  }
}

async function lockOf(universeId: string): Promise<string | null> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    return await client.get(`loom:u:{${universeId}}:lock`);
  } finally {
    client.disconnect();
  }
}

describe("faults: a Redis restart while Postgres is behind", () => {
  it("loses no acknowledged turn when the owner closes the universe during the outage", async () => {
    const a = await server(2711);
    const table = await setTable(a.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const acked: Acked[] = [];
    const errors: Record<string, number> = {};
    await play(session, alex.characterId, 5, acked, errors);
    await waitFor(() => session.persistedThrough >= acked.at(-1)!.position, 10_000, "persisted");

    await pg.stop();
    await play(session, alex.characterId, 10, acked, errors); // in Redis only
    await redis.kill();
    await redis.start(); // empty: stream, lock and fencing counter are gone
    // the first append meets a lock that is gone: refused, and the lease is taken again
    for (let tries = 0; tries < 20 && acked.length < 20; tries++)
      await play(session, alex.characterId, 1, acked, errors);
    expect(acked.length).toBe(20);
    await session.leave(); // the room closes while the database is still down
    await waitFor(async () => (await lockOf(table.universeId)) === null, 20_000, "the lease released");

    await pg.start();
    const started = Date.now();
    const b = await server(2712);
    const gm = connect(b.url).useToken(table.gm.playerToken!);
    const watch = await gm.joinUniverse(table.universeId, { role: "gm" });
    const servedAgainMs = Date.now() - started;
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(acked, timeline);
    reportScenario("redis restart while postgres is down, owner closes", integrity, {
      servedAgainMs,
      errors,
    });
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(watch.state.head).toBe(timeline.at(-1)!.position);
    await watch.leave();
  });

  it("refuses to open a universe whose stream Redis lost while its owner's turns were not persisted", async () => {
    const a = await server(2713);
    const table = await setTable(a.url, ["Mara"]);
    const mara = table.players[0]!;
    const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
    const acked: Acked[] = [];
    const errors: Record<string, number> = {};
    await play(session, mara.characterId, 3, acked, errors);
    await waitFor(() => session.persistedThrough >= acked.at(-1)!.position, 10_000, "persisted");
    await pg.stop();
    await play(session, mara.characterId, 5, acked, errors);
    expect(acked.length).toBe(8);
    await a.stop("SIGKILL"); // the owner dies with 5 turns in Redis only…
    await redis.kill(); // …and Redis forgets them
    await redis.start();
    await pg.start();

    const b = await server(2714);
    const gm = connect(b.url).useToken(table.gm.playerToken!);
    // not opened from the database's head, which would hand the lost turns' positions out again
    const refused = await gm.joinUniverse(table.universeId, { role: "gm" }).then(
      () => null,
      (error: unknown) => error as Error & { code?: string; status?: number },
    );
    expect(refused?.message).toMatch(/live stream is gone/);
    const sql = postgres(pg.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<Array<{ head: number }>>`
        select head_position as head from universes where id = ${table.universeId}`;
      expect(row!.head).toBeLessThan(acked.at(-1)!.position);
      // the operator's way out when that owner is gone for good (README, "When Redis loses its data")
      await sql`update universe_leases set settled_token = lease_token where universe_id = ${table.universeId}`;
    } finally {
      await sql.end();
    }
    const watch = await gm.joinUniverse(table.universeId, { role: "gm" });
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(acked, timeline);
    reportScenario(
      "redis restart after the owner died unpersisted (refused, then settled by hand)",
      integrity,
      {
        errors,
      },
    );
    // what an operator accepts by settling by hand: the turns only the lost stream had
    expect(integrity.lost).toBe(5);
    expect(integrity.duplicated).toBe(0);
    await watch.leave();
  });
});
