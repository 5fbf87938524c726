import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { milestonesFor } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, spawnServer, startServer, tempDir, waitFor } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { overcome, sheet } from "./support/players.ts";
import { recordsSettle } from "./support/records.ts";

/**
 * Runs, play sessions and progression as players make them: a run played over several sessions,
 * leaving the moment the last act is acknowledged and coming straight back, sometimes from a
 * second tab, sometimes acting several at once. Whatever the split and the pacing, a run counts
 * the turns that were acknowledged, and the records equal a fresh projection of the log.
 */

interface RunPlan {
  /** Turns per session. */
  sessions: number[];
  outcome: "completed" | "abandoned";
}

interface Plan {
  runs: RunPlan[];
  /** Which run plays its next session, in order (indices into `runs`, cycling over what is left). */
  order: number[];
  /** Per session: act one at a time, or all at once. */
  burst: boolean[];
  /** Per session: a second tab joins and leaves in the middle. */
  secondTab: boolean[];
}

const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  runs: fc.array(
    fc.record({
      sessions: fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 4 }),
      outcome: fc.constantFrom("completed" as const, "abandoned" as const),
    }),
    { minLength: 2, maxLength: 3 },
  ),
  order: fc.array(fc.nat(5), { minLength: 12, maxLength: 12 }),
  burst: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  secondTab: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
});

async function playSession(
  player: LoomClient,
  universeId: string,
  run: { id: string; characterId: string },
  turns: number,
  burst: boolean,
  secondTab: boolean,
): Promise<number> {
  const session = await player.joinUniverse(universeId, { role: "player", runId: run.id });
  let acknowledged = 0;
  const one = async (i: number) => {
    const result = await session.act(overcome(run.characterId, `crosses ditch ${i}`));
    if (!result.ok) throw new Error(`turn refused: ${result.rejection.code} ${result.rejection.message}`);
    acknowledged += 1;
  };
  let tab: UniverseSession | null = null;
  if (burst) {
    await Promise.all(Array.from({ length: turns }, (_, i) => one(i)));
  } else {
    for (let i = 0; i < turns; i++) {
      if (secondTab && i === Math.floor(turns / 2))
        tab = await player.joinUniverse(universeId, { role: "player", runId: run.id });
      await one(i);
    }
  }
  // leave the moment the last act is acknowledged, the second tab first
  if (tab) await tab.leave();
  await session.leave();
  return acknowledged;
}

async function playPlan(server: { url: string }, plan: Plan): Promise<void> {
  const gm = connect(server.url);
  await gm.registerPlayer("GM");
  const universe = await gm.createUniverse({ name: "Many Evenings", visibility: "public" });
  const player = connect(server.url);
  await player.registerPlayer("Riley");
  const runs = [];
  for (const [i] of plan.runs.entries()) {
    const { character, run } = await player.createCharacter(universe.id, sheet(`Hero${i}`));
    runs.push({ id: run.id, characterId: character.id, left: [...plan.runs[i]!.sessions], played: 0 });
  }
  for (let step = 0; runs.some((run) => run.left.length > 0); step++) {
    const open = runs.filter((run) => run.left.length > 0);
    const run = open[plan.order[step % plan.order.length]! % open.length]!;
    const turns = run.left.shift()!;
    run.played += await playSession(
      player,
      universe.id,
      run,
      turns,
      plan.burst[step % plan.burst.length]!,
      plan.secondTab[step % plan.secondTab.length]!,
    );
  }
  let completedTurns = 0;
  let completed = 0;
  for (const [i, run] of runs.entries()) {
    const ended =
      plan.runs[i]!.outcome === "completed"
        ? await player.completeRun(run.id, "retired")
        : await player.abandonRun(run.id);
    // the record the call returns already follows the run's ending, and every turn before it
    expect(ended.run).toMatchObject({
      state: plan.runs[i]!.outcome,
      turnCount: run.played,
      sessionCount: plan.runs[i]!.sessions.length,
      milestones: milestonesFor(run.played),
    });
    if (plan.runs[i]!.outcome === "completed") {
      completedTurns += run.played;
      completed += 1;
    }
  }
  const progression = await player.progression();
  expect(progression.runsCompleted).toBe(completed);
  expect(progression.turnsInCompletedRuns).toBe(completedTurns);
  expect(progression.milestones).toBe(
    runs
      .filter((_, i) => plan.runs[i]!.outcome === "completed")
      .reduce((sum, run) => sum + milestonesFor(run.played), 0),
  );
  await recordsSettle(
    gm,
    player,
    universe.id,
    runs.map((run) => run.id),
  );
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`play sessions as players play them (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2596 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("any split of each run into sessions, any pacing: the records count what was acknowledged", async () => {
      await fc.assert(
        fc.asyncProperty(planArbitrary, (plan) => playPlan(server, plan)),
        { numRuns: 3, seed: 20261201, endOnFailure: true },
      );
    }, 240_000);

    it("seed 000's numbers: 150 + 120 turns over several sessions each, one run abandoned", async () => {
      await playPlan(server, {
        runs: [
          { sessions: [40, 40, 40, 30], outcome: "completed" },
          { sessions: [25, 15], outcome: "abandoned" },
          { sessions: [60, 60], outcome: "completed" },
        ],
        order: [0, 1, 2],
        burst: [false],
        secondTab: [false, true],
      });
    }, 240_000);
  });
}

describe("play sessions across a kill -9 (embedded)", () => {
  it.each([
    ["dies (kill -9)", "SIGKILL"],
    ["stops (SIGTERM)", "SIGTERM"],
  ] as const)(
    "a session open when the server %s ends as interrupted; the run's records stay right",
    async (_, signal) => {
      const dataDir = tempDir("loom-sessions-");
      let server = await spawnServer({ LOOM_DATA_DIR: dataDir }, 2597);
      try {
        const gm = connect(server.url);
        await gm.registerPlayer("GM");
        const universe = await gm.createUniverse({ name: "Cut Short", visibility: "public" });
        // Ada's device goes down with the server: her session does not rejoin the next one
        const player = connect(server.url, { failoverMs: 0 });
        await player.registerPlayer("Ada");
        const { character, run } = await player.createCharacter(universe.id, sheet("Ada"));
        const played = await playSession(
          player,
          universe.id,
          { id: run.id, characterId: character.id },
          7,
          false,
          false,
        );
        // a second session, killed while it is open, right after its acts are acknowledged
        const open = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
        for (let i = 0; i < 5; i++) {
          const result = await open.act(overcome(character.id, `wades on ${i}`));
          expect(result.ok).toBe(true);
        }
        if (signal === "SIGKILL") server.process.kill("SIGKILL");
        await server.stop();
        server = await spawnServer({ LOOM_DATA_DIR: dataDir }, 2597);
        const again = connect(server.url).useToken(player.playerToken!);
        const third = await again.joinUniverse(universe.id, { role: "player", runId: run.id });
        expect((await third.act(overcome(character.id, "reaches the shore"))).ok).toBe(true);
        await third.leave();
        const done = await again.completeRun(run.id, "retired");
        expect(done.run).toMatchObject({ turnCount: played + 5 + 1, sessionCount: 3, state: "completed" });
        const sessions = await again.runSessions(run.id);
        expect(sessions.map((s) => s.endReason)).toEqual(["left", "interrupted", "left"]);
        expect(sessions.every((s) => s.endPosition !== null)).toBe(true);
        const gmAgain = connect(server.url).useToken(gm.playerToken!);
        await waitFor(async () => (await again.progression()).runsCompleted === 1, 5_000, "credit");
        await recordsSettle(gmAgain, again, universe.id, [run.id]);
      } finally {
        await server.stop("SIGKILL");
      }
    },
    120_000,
  );
  for (const mode of modes())
    it.skipIf(!mode.available)(
      `a session cut short by a kill -9 ended at its universe's last turn: a player back after the gap has her fate points refreshed (${mode.name})`,
      async () => {
        const env = {
          LOOM_DATA_DIR: tempDir("loom-sessions-gap-"),
          DATABASE_URL: mode.databaseUrl ?? "",
          REDIS_URL: mode.redisUrl ?? "",
          LOOM_SESSION_GAP_SECONDS: "2",
          LOOM_LEASE_TTL_MS: "2000",
        };
        let server = await spawnServer(env, 2595);
        try {
          const gm = connect(server.url);
          await gm.registerPlayer("GM");
          const universe = await gm.createUniverse({ name: "Long Night", visibility: "public" });
          const player = connect(server.url, { failoverMs: 0 });
          await player.registerPlayer("Bea");
          const { character, run } = await player.createCharacter(universe.id, sheet("Bea"));
          const seat = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
          const spent = await seat.act({
            ...overcome(character.id, "leans on the road she knows"),
            invokes: [
              { aspect: "Never forgets a road", effect: "bonus" as const, payment: "fate_point" as const },
            ],
          });
          expect(spent.ok).toBe(true);
          const last = await seat.act(overcome(character.id, "wades on"));
          if (!last.ok) throw new Error(last.rejection.code);
          server.process.kill("SIGKILL");
          await server.stop();
          // she stays away past the gap; her own return is what opens the universe again
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          server = await spawnServer(env, 2595);
          const again = connect(server.url).useToken(player.playerToken!);
          const back = await again.joinUniverse(universe.id, { role: "player", runId: run.id });
          const gmAgain = connect(server.url).useToken(gm.playerToken!);
          await waitFor(
            async () => (await gmAgain.stateAt(universe.id)).state.characters[character.id]!.fatePoints === 3,
            5_000,
            "the refresh",
          );
          const sessions = await again.runSessions(run.id);
          expect(sessions[0]).toMatchObject({ endReason: "interrupted", endedAt: last.turn.createdAt });
          await back.leave();
        } finally {
          await server.stop("SIGKILL");
        }
      },
      120_000,
    );
});
