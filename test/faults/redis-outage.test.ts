import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { UniverseSession } from "../../client-sdk/src/index.ts";
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

// Finding 3 of the resilience review: Redis calls without a timeout. An act during a Redis outage
// must be refused `unavailable` at once, and a Redis that stalls for less than the lease's TTL
// must not cut anyone off.

let pg: PostgresInstance;
let redis: RedisInstance;
const children: ChildServer[] = [];
const LEASE_TTL_MS = 4_000;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(testPort(2721)), startRedis(testPort(2722))]);
});
afterEach(async () => {
  redis?.resume();
  await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  await redis?.start();
});
afterAll(async () => {
  await Promise.all([pg?.close(), redis?.close()]);
});

async function table(port: number) {
  const server = await spawnServer(
    { DATABASE_URL: pg.url, REDIS_URL: redis.url, LOOM_LEASE_TTL_MS: String(LEASE_TTL_MS) },
    port,
  );
  children.push(server);
  const set = await setTable(server.url, ["Alex"]);
  const alex = set.players[0]!;
  const session = await alex.client.joinUniverse(set.universeId, { role: "player", runId: alex.runId });
  const closes: number[] = [];
  session.on("leave", (code) => closes.push(code));
  session.on("reconnecting", ({ code }) => closes.push(code)); // cut off, even if it comes back
  return { set, alex, session, closes };
}

interface Tally {
  acked: Acked[];
  errors: Record<string, number>;
  /** How long each refused act took to be answered. */
  refusedAfterMs: number[];
}

async function act(session: UniverseSession, characterId: string, tally: Tally): Promise<boolean> {
  const started = Date.now();
  const result = await session.act(overcome(characterId), { timeoutMs: 10_000 });
  if (result.ok) {
    tally.acked.push({ position: result.turn.position, id: result.turn.id });
    return true;
  }
  tally.errors[result.rejection.code] = (tally.errors[result.rejection.code] ?? 0) + 1;
  tally.refusedAfterMs.push(Date.now() - started);
  return false;
}

/** Acts until one is acknowledged; returns how long that took from `since`. */
async function actUntilServed(
  session: UniverseSession,
  characterId: string,
  tally: Tally,
  since: number,
): Promise<number> {
  for (;;) {
    if (await act(session, characterId, tally)) return Date.now() - since;
    if (Date.now() - since > 30_000) throw new Error("not served again within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("faults: Redis hangs and outages", () => {
  it("refuses acts at once while Redis hangs for less than the lease, and keeps every connection", async () => {
    const { set, alex, session, closes } = await table(2731);
    const tally: Tally = { acked: [], errors: {}, refusedAfterMs: [] };
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, tally);
    expect(tally.acked).toHaveLength(5);

    redis.pause();
    const hungAt = Date.now();
    expect(await act(session, alex.characterId, tally)).toBe(false);
    expect(await act(session, alex.characterId, tally)).toBe(false);
    expect(Object.keys(tally.errors)).toEqual(["unavailable"]);
    // half the lease's TTL in all
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, LEASE_TTL_MS / 2 - (Date.now() - hungAt))),
    );
    redis.resume();
    const servedAgainMs = await actUntilServed(session, alex.characterId, tally, hungAt);

    for (let i = 0; i < 5; i++) await act(session, alex.characterId, tally);
    const timeline = await wholeTimeline(set.gm, set.universeId);
    const integrity = checkIntegrity(tally.acked, timeline);
    reportScenario(`redis hangs ${LEASE_TTL_MS / 2} ms (lease ${LEASE_TTL_MS} ms)`, integrity, {
      servedAgainMs,
      errors: tally.errors,
    });
    console.log(`refused acts answered after ${tally.refusedAfterMs.join(", ")} ms`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(closes).toEqual([]); // nobody was cut off
    await session.leave();
  });

  it("refuses acts at once while Redis is down, and serves again with every turn when it is back", async () => {
    const { set, alex, session, closes } = await table(2732);
    const tally: Tally = { acked: [], errors: {}, refusedAfterMs: [] };
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, tally);
    await waitFor(() => session.persistedThrough >= tally.acked.at(-1)!.position, 10_000, "persisted");
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, tally); // some in Redis only

    await redis.kill(); // without persistence: it comes back empty
    const downAt = Date.now();
    expect(await act(session, alex.characterId, tally)).toBe(false);
    expect(await act(session, alex.characterId, tally)).toBe(false);
    expect(Object.keys(tally.errors)).toEqual(["unavailable"]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis.start();
    const servedAgainMs = await actUntilServed(session, alex.characterId, tally, downAt);

    for (let i = 0; i < 5; i++) await act(session, alex.characterId, tally);
    const timeline = await wholeTimeline(set.gm, set.universeId);
    const integrity = checkIntegrity(tally.acked, timeline);
    reportScenario("redis down 1 s, restarted empty", integrity, { servedAgainMs, errors: tally.errors });
    console.log(`refused acts answered after ${tally.refusedAfterMs.join(", ")} ms`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(closes).toEqual([]);
    await session.leave();
  });
});
