import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect } from "../../client-sdk/src/index.ts";
import { waitFor } from "../support/server.ts";
import { setTable } from "../support/players.ts";
import { recordsSettle, wholeTimeline } from "../support/records.ts";
import { checkIntegrity } from "./integrity.ts";
import { act, faultSuite, play, reportFaultScenario, steadyLoad, tally } from "./harness.ts";

// Finding 4 of the resilience review: a Postgres outage stopped everything but turns. Now the
// process stays live and says why it is degraded, is not ready, keeps serving what it can from
// memory and Redis, and catches up when the database is back. Finding 5: a database refusing
// writes (a full disk) is logged once per change of state with its SQLSTATE, never the payload.

const suite = faultSuite({ postgres: 2761, redis: 2762 });

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("faults: Postgres goes away", () => {
  it("stays live and says why, is not ready, keeps playing and rejoining, and catches up", async () => {
    const a = await suite.server(2771, { LOOM_LEASE_TTL_MS: "4000" });
    const table = await setTable(a.url, ["Alex", "Bea"]);
    const [alex, bea] = table.players;
    const closed = await setTable(a.url, ["Cyd"]); // a universe no room holds when the outage starts
    const load = await steadyLoad(a.url);
    const own = tally();
    const alexSession = await alex!.client.joinUniverse(table.universeId, {
      role: "player",
      runId: alex!.runId,
    });
    let beaSession = await bea!.client.joinUniverse(table.universeId, { role: "player", runId: bea!.runId });
    await play(alexSession, alex!.characterId, 5, own);
    await play(beaSession, bea!.characterId, 2, own);
    expect((await getJson(`${a.url}/readyz`)).status).toBe(200);

    await suite.pg.stop();
    const downAt = Date.now();
    load.faultStarts();
    // what each step of the outage took (a slow one stretches the outage the scenario reports)
    const steps: string[] = [];
    let stepAt = Date.now();
    const step = (name: string) => {
      steps.push(`${name} ${Date.now() - stepAt} ms`);
      stepAt = Date.now();
    };
    // turns go on: the live store takes them
    await play(alexSession, alex!.characterId, 10, own);
    step("10 acts");
    expect(own.acked).toHaveLength(17);
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
    step("/healthz and /readyz");
    // what needs the database says so, coded, with when to retry: not a 500 "internal error"
    const registering = await fetch(`${a.url}/api/players`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Latecomer" }),
    });
    expect(registering.status).toBe(503);
    expect(registering.headers.get("retry-after")).toBe("1");
    expect(await registering.json()).toMatchObject({
      error: { code: "unavailable", message: expect.stringMatching(/^a dependency is unavailable \(/) },
    });
    step("register refused");

    // a player leaves and comes back during the outage: their run is in memory
    await beaSession.leave();
    step("leave");
    beaSession = await bea!.client.joinUniverse(table.universeId, { role: "player", runId: bea!.runId });
    step("join again");
    await play(beaSession, bea!.characterId, 3, own);
    step("3 acts");
    expect(own.acked).toHaveLength(20);
    console.log(`postgres outage, steps: ${steps.join(", ")}`);

    // an outage of some seconds: persist retries back off meanwhile
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_000 - (Date.now() - downAt))));
    const servedAgainMs = load.servedAgainMs();
    // a GM opens a universe no room holds: it needs the database, refused `unavailable` with a
    // Retry-After the SDK waits out until the database is back
    const opening = connect(a.url)
      .useToken(closed.gm.playerToken!)
      .joinUniverse(closed.universeId, { role: "gm" });
    opening.catch(() => undefined); // awaited below; a failure before that is the test's own
    await new Promise((resolve) => setTimeout(resolve, 300));
    await suite.pg.start();
    const upAt = Date.now();
    const opened = await opening;
    expect(opened.state.universeId).toBe(closed.universeId);
    await waitFor(() => alexSession.persistedThrough >= own.acked.at(-1)!.position, 30_000, "caught up");
    const caughtUpMs = Date.now() - upAt;
    await waitFor(async () => (await getJson(`${a.url}/readyz`)).status === 200, 10_000, "ready again");
    // ok once every universe has written again (each retries on its own backoff)
    await waitFor(
      async () => (await getJson(`${a.url}/healthz`)).body.status === "ok",
      15_000,
      "healthz ok again",
    );
    const loadOutcome = await load.finish();

    const gm = connect(a.url).useToken(table.gm.playerToken!);
    const integrity = checkIntegrity(own.acked, await wholeTimeline(gm, table.universeId));
    const figures = reportFaultScenario(
      `postgres down ${Math.round((upAt - downAt) / 1000)} s, a player rejoins meanwhile`,
      { own: integrity, ownErrors: own.errors, load: loadOutcome, servedAgainMs },
    );
    console.log(`postgres outage: persisted everything ${caughtUpMs} ms after it came back`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    // turns never stopped: no client was refused anything
    expect(figures.errors).toEqual({});
    expect(servedAgainMs).not.toBeNull();
    // the play sessions caught up: Bea's first one ended when she left, her second is open
    const sessions = await bea!.client.runSessions(bea!.runId);
    expect(sessions.map((s) => s.endReason ?? "open")).toEqual(["left", "open"]);
    await alexSession.leave();
    await beaSession.leave();
    await opened.leave();
  });

  it("bounds what waits for the database: past the limit acts are refused, then served again", async () => {
    const a = await suite.server(2772, { LOOM_MAX_PENDING_TURNS: "5" });
    const table = await setTable(a.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const load = await steadyLoad(a.url);
    const own = tally();
    await play(session, alex.characterId, 2, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");

    await suite.pg.stop();
    load.faultStarts();
    await play(session, alex.characterId, 8, own);
    // five wait; the rest are refused, and nothing of them was applied
    expect(own.acked).toHaveLength(7);
    expect(own.errors).toEqual({ unavailable: 3 });
    const refused = await session.act({
      kind: "action",
      action: "overcome",
      characterId: alex.characterId,
      skill: "Athletics",
      description: "pushes on",
    });
    expect(refused).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    if (!refused.ok) expect(refused.rejection.message).toMatch(/5 turns are waiting for the database/);
    own.errors.unavailable = (own.errors.unavailable ?? 0) + 1;

    await suite.pg.start();
    const upAt = Date.now();
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 30_000, "caught up");
    const caughtUpMs = Date.now() - upAt;
    const servedAgainMs = await load.servedAgain();
    const loadServedMs = Date.now() - upAt;
    await play(session, alex.characterId, 3, own);
    expect(own.acked).toHaveLength(10);
    const loadOutcome = await load.finish();
    const gm = connect(a.url).useToken(table.gm.playerToken!);
    const integrity = checkIntegrity(own.acked, await wholeTimeline(gm, table.universeId));
    const figures = reportFaultScenario("postgres down, at most 5 turns waiting per universe", {
      own: integrity,
      ownErrors: own.errors,
      load: loadOutcome,
      servedAgainMs,
    });
    console.log(
      `bounded outage, after postgres came back: caught up in ${caughtUpMs} ms, ` +
        `every universe of the load served again within ${loadServedMs} ms`,
    );
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    // the load's universes hit the same bound: refused `unavailable`, never anything else
    expect(Object.keys(figures.errors)).toEqual(["unavailable"]);
    await session.leave();
  });

  it("a full disk (SQLSTATE 53100 on insert): logged once each way with its code, no payload, counted, caught up", async () => {
    const BOUND = 40;
    const a = await suite.server(2773, {
      LOOM_MAX_PENDING_TURNS: String(BOUND),
      // the fault log's "works again" line is at info level
      LOOM_LOG_LEVEL: "info",
    });
    const table = await setTable(a.url, ["Mara"]);
    const mara = table.players[0]!;
    const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
    const load = await steadyLoad(a.url);
    const own = tally();
    // what the turns carry, which no log line may
    const marker = `crosses the salt flats ${Math.random().toString(36).slice(2)}`;
    for (let i = 0; i < 3; i++) await act(session, mara.characterId, own, { description: marker });
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");

    const sql = postgres(suite.pg.url, { max: 1, onnotice: () => undefined });
    try {
      // the database answers every insert into the timeline as a full disk would
      await sql.unsafe(`
        create or replace function loom_fault_disk_full() returns trigger language plpgsql as $$
        begin
          raise exception using errcode = 'disk_full',
            message = 'could not extend file "base/5/16400": No space left on device';
        end $$;
        create trigger loom_fault_disk_full before insert on turns
          for each statement execute function loom_fault_disk_full();`);
      const fullAt = Date.now();
      load.faultStarts();
      // Mara acts past the bound: the first ones wait for the database, the rest are refused
      for (let i = 0; i < BOUND + 5; i++) await act(session, mara.characterId, own, { description: marker });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 6_000 - (Date.now() - fullAt))));
      const servedAgainMs = load.servedAgainMs();
      await sql.unsafe(`drop trigger loom_fault_disk_full on turns`);
      const freedAt = Date.now();
      await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 30_000, "caught up");
      const caughtUpMs = Date.now() - freedAt;
      await play(session, mara.characterId, 3, own);
      const loadOutcome = await load.finish();

      const gm = connect(a.url).useToken(table.gm.playerToken!);
      const integrity = checkIntegrity(own.acked, await wholeTimeline(gm, table.universeId));
      const figures = reportFaultScenario(
        `disk_full on every insert for ${Math.round((freedAt - fullAt) / 1000)} s (at most ${BOUND} turns waiting)`,
        { own: integrity, ownErrors: own.errors, load: loadOutcome, servedAgainMs },
      );
      console.log(`disk_full: persisted everything ${caughtUpMs} ms after the disk had room again`);
      expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
      expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
      expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
      // refused only past the bound: Mara's last five (the load's universes stay under it)
      expect(own.errors).toEqual({ unavailable: 5 });
      expect(figures.errors).toEqual({ unavailable: 5 });
      expect(own.acked.length).toBe(3 + BOUND + 3);
      // the records caught up: runs and progression equal a fresh projection of the timeline
      await recordsSettle(gm, mara.client, table.universeId, [mara.runId]);

      const metrics = await getJson(`${a.url}/metrics.json`);
      const counted = (metrics.body.errors as Record<string, number>)["database:53100"] ?? 0;
      expect(counted).toBeGreaterThan(0);
      const output = a.output();
      const logs = a.logs();
      const failing = logs.filter((entry) => entry.msg.startsWith("database failing"));
      const recovered = logs.filter((entry) => entry.msg.startsWith("database works again"));
      console.log(
        `disk_full: ${counted} failed writes counted as database:53100; ${failing.length} line failing, ` +
          `${recovered.length} recovered; ${output.length} bytes of log in all`,
      );
      expect(failing).toHaveLength(1);
      expect(failing[0]).toMatchObject({ level: "error", code: "53100" });
      expect(failing[0]!.msg).toContain("[53100]");
      expect(recovered).toHaveLength(1);
      expect(logs.filter((entry) => entry.msg.includes("now also fails"))).toEqual([]);
      expect(output).not.toContain(marker);
      await session.leave();
    } finally {
      await sql.unsafe(`drop trigger if exists loom_fault_disk_full on turns`).catch(() => undefined);
      await sql.end();
    }
  });
});
