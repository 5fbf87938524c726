import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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

// Finding 4 of the resilience review: a Postgres outage stopped everything but turns. Now the
// process stays live and says why it is degraded, is not ready, keeps serving what it can from
// memory and Redis, and catches up when the database is back.

let pg: PostgresInstance;
let redis: RedisInstance;
const children: ChildServer[] = [];

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(testPort(2761)), startRedis(testPort(2762))]);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  await pg?.start();
});
afterAll(async () => {
  await Promise.all([pg?.close(), redis?.close()]);
});

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

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

describe("faults: Postgres goes away", () => {
  it("stays live and says why, is not ready, keeps playing and rejoining, and catches up", async () => {
    const a = await spawnServer(
      { DATABASE_URL: pg.url, REDIS_URL: redis.url, LOOM_LEASE_TTL_MS: "4000" },
      2771,
    );
    children.push(a);
    const table = await setTable(a.url, ["Alex", "Bea"]);
    const [alex, bea] = table.players;
    const acked: Acked[] = [];
    const errors: Record<string, number> = {};
    const alexSession = await alex!.client.joinUniverse(table.universeId, {
      role: "player",
      runId: alex!.runId,
    });
    let beaSession = await bea!.client.joinUniverse(table.universeId, { role: "player", runId: bea!.runId });
    await play(alexSession, alex!.characterId, 5, acked, errors);
    await play(beaSession, bea!.characterId, 2, acked, errors);
    expect((await getJson(`${a.url}/readyz`)).status).toBe(200);

    await pg.stop();
    const downAt = Date.now();
    // turns go on: the live store takes them
    await play(alexSession, alex!.characterId, 10, acked, errors);
    expect(acked).toHaveLength(17);
    const health = await getJson(`${a.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      ok: true,
      status: "degraded",
      degraded: { unreachable: { database: expect.any(String) } },
    });
    const ready = await getJson(`${a.url}/readyz`);
    expect(ready).toMatchObject({
      status: 503,
      body: { ready: false, unreachable: { database: expect.any(String) } },
    });
    expect(ready.body.unreachable).not.toHaveProperty("live");

    // a player leaves and comes back during the outage: their run is in memory
    await beaSession.leave();
    beaSession = await bea!.client.joinUniverse(table.universeId, { role: "player", runId: bea!.runId });
    await play(beaSession, bea!.characterId, 3, acked, errors);
    expect(acked).toHaveLength(20);

    // an outage of some seconds: persist retries back off meanwhile
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_000 - (Date.now() - downAt))));
    await pg.start();
    const upAt = Date.now();
    await waitFor(() => alexSession.persistedThrough >= acked.at(-1)!.position, 30_000, "caught up");
    const caughtUpMs = Date.now() - upAt;
    await waitFor(async () => (await getJson(`${a.url}/readyz`)).status === 200, 10_000, "ready again");
    expect((await getJson(`${a.url}/healthz`)).body.status).toBe("ok");

    const gm = connect(a.url).useToken(table.gm.playerToken!);
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(acked, timeline);
    reportScenario(
      `postgres down ${Math.round((upAt - downAt) / 1000)} s, a player rejoins meanwhile`,
      integrity,
      {
        servedAgainMs: 0,
        errors,
      },
    );
    console.log(`postgres outage: persisted everything ${caughtUpMs} ms after it came back`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(errors).toEqual({});
    // the play sessions caught up: Bea's first one ended when she left, her second is open
    const sessions = await bea!.client.runSessions(bea!.runId);
    expect(sessions.map((s) => s.endReason ?? "open")).toEqual(["left", "open"]);
    await alexSession.leave();
    await beaSession.leave();
  });
  it("bounds what waits for the database: past the limit acts are refused, then served again", async () => {
    const a = await spawnServer(
      { DATABASE_URL: pg.url, REDIS_URL: redis.url, LOOM_MAX_PENDING_TURNS: "5" },
      2772,
    );
    children.push(a);
    const table = await setTable(a.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const acked: Acked[] = [];
    const errors: Record<string, number> = {};
    await play(session, alex.characterId, 2, acked, errors);
    await waitFor(() => session.persistedThrough >= acked.at(-1)!.position, 10_000, "persisted");

    await pg.stop();
    await play(session, alex.characterId, 8, acked, errors);
    // five wait; the rest are refused, and nothing of them was applied
    expect(acked).toHaveLength(7);
    expect(errors).toEqual({ unavailable: 3 });
    const refused = await session.act(overcome(alex.characterId));
    expect(refused).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    if (!refused.ok) expect(refused.rejection.message).toMatch(/5 turns are waiting for the database/);

    await pg.start();
    await waitFor(() => session.persistedThrough >= acked.at(-1)!.position, 30_000, "caught up");
    await play(session, alex.characterId, 3, acked, errors);
    expect(acked).toHaveLength(10);
    const gm = connect(a.url).useToken(table.gm.playerToken!);
    const integrity = checkIntegrity(acked, await wholeTimeline(gm, table.universeId));
    reportScenario("postgres down, at most 5 turns waiting", integrity, { errors });
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    await session.leave();
  });
});
