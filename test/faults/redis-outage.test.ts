import { describe, expect, it } from "vitest";
import { waitFor } from "../support/server.ts";
import { setTable } from "../support/players.ts";
import { wholeTimeline } from "../support/records.ts";
import { checkIntegrity } from "./integrity.ts";
import { act, actUntilServed, faultSuite, reportFaultScenario, steadyLoad, tally } from "./harness.ts";

// Finding 3 of the resilience review: Redis calls without a timeout. An act during a Redis outage
// must be refused `unavailable` at once, and a Redis that stalls for less than the lease's TTL
// must not cut anyone off.

const suite = faultSuite({ postgres: 2721, redis: 2722 });
const LEASE_TTL_MS = 4_000;

async function table(port: number) {
  const server = await suite.server(port, { LOOM_LEASE_TTL_MS: String(LEASE_TTL_MS) });
  const set = await setTable(server.url, ["Alex"]);
  const alex = set.players[0]!;
  const session = await alex.client.joinUniverse(set.universeId, { role: "player", runId: alex.runId });
  const closes: number[] = [];
  session.on("leave", (code) => closes.push(code));
  session.on("reconnecting", ({ code }) => closes.push(code)); // cut off, even if it comes back
  const load = await steadyLoad(server.url);
  return { set, alex, session, closes, load };
}

describe("faults: Redis hangs and outages", () => {
  it("refuses acts at once while Redis hangs for less than the lease, and keeps every connection", async () => {
    const { set, alex, session, closes, load } = await table(2731);
    const own = tally();
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, own);
    expect(own.acked).toHaveLength(5);

    suite.redis.pause();
    const hungAt = Date.now();
    load.faultStarts();
    expect(await act(session, alex.characterId, own, { timeoutMs: 10_000 })).toBe(false);
    expect(await act(session, alex.characterId, own, { timeoutMs: 10_000 })).toBe(false);
    expect(Object.keys(own.errors)).toEqual(["unavailable"]);
    // half the lease's TTL in all
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, LEASE_TTL_MS / 2 - (Date.now() - hungAt))),
    );
    suite.redis.resume();
    const ownServedMs = await actUntilServed(session, alex.characterId, own, hungAt);
    const loadServedMs = await load.servedAgain();

    for (let i = 0; i < 5; i++) await act(session, alex.characterId, own);
    const loadOutcome = await load.finish();
    const integrity = checkIntegrity(own.acked, await wholeTimeline(set.gm, set.universeId));
    const figures = reportFaultScenario(`redis hangs ${LEASE_TTL_MS / 2} ms (lease ${LEASE_TTL_MS} ms)`, {
      own: integrity,
      ownErrors: own.errors,
      load: loadOutcome,
      servedAgainMs: loadServedMs === null ? null : Math.max(ownServedMs, loadServedMs),
    });
    console.log(`refused acts answered after ${own.refusedAfterMs.join(", ")} ms`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
    // refused, never left without an answer
    expect(Object.keys(figures.errors)).toEqual(["unavailable"]);
    expect(closes).toEqual([]); // nobody was cut off
    expect(loadOutcome.dropped).toEqual({});
    await session.leave();
  });

  it("refuses acts at once while Redis is down, and serves again with every turn when it is back", async () => {
    const { set, alex, session, closes, load } = await table(2732);
    const own = tally();
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, own);
    await waitFor(() => session.persistedThrough >= own.acked.at(-1)!.position, 10_000, "persisted");
    for (let i = 0; i < 5; i++) await act(session, alex.characterId, own); // some in Redis only

    await suite.redis.kill(); // without persistence: it comes back empty
    const downAt = Date.now();
    load.faultStarts();
    expect(await act(session, alex.characterId, own, { timeoutMs: 10_000 })).toBe(false);
    expect(await act(session, alex.characterId, own, { timeoutMs: 10_000 })).toBe(false);
    expect(Object.keys(own.errors)).toEqual(["unavailable"]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await suite.redis.start();
    const ownServedMs = await actUntilServed(session, alex.characterId, own, downAt);
    const loadServedMs = await load.servedAgain();

    for (let i = 0; i < 5; i++) await act(session, alex.characterId, own);
    const loadOutcome = await load.finish();
    const integrity = checkIntegrity(own.acked, await wholeTimeline(set.gm, set.universeId));
    const figures = reportFaultScenario("redis down 1 s, restarted empty", {
      own: integrity,
      ownErrors: own.errors,
      load: loadOutcome,
      servedAgainMs: loadServedMs === null ? null : Math.max(ownServedMs, loadServedMs),
    });
    console.log(`refused acts answered after ${own.refusedAfterMs.join(", ")} ms`);
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    expect(loadOutcome.integrity, JSON.stringify(loadOutcome.integrity)).toMatchObject({ ok: true });
    expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
    expect(Object.keys(figures.errors)).toEqual(["unavailable"]);
    expect(closes).toEqual([]);
    expect(loadOutcome.dropped).toEqual({});
    await session.leave();
  });
});
