import { expect } from "vitest";
import { waitFor } from "./server.ts";
import { progressionFrom, projectTimeline, type Turn } from "@loom/shared";
import type { LoomClient } from "../../client-sdk/src/index.ts";

/** Every turn of a universe as its game master reads it, oldest first. */
export async function wholeTimeline(gm: LoomClient, universeId: string): Promise<Turn[]> {
  const turns: Turn[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await gm.history(universeId, { cursor, limit: 500, order: "asc" });
    turns.push(...page.turns);
    if (page.nextCursor === null || page.turns.length === 0) return turns;
    cursor = page.nextCursor;
  }
}

/**
 * The check that records follow the log: the player's runs and progression, as the server serves
 * them, equal a fresh projection of the persisted timeline (shared `projectTimeline`).
 */
export async function expectRecordsFollowLog(
  gm: LoomClient,
  player: LoomClient,
  universeId: string,
  runIds: readonly string[],
): Promise<void> {
  const runs = await Promise.all(runIds.map((id) => player.run(id)));
  const fresh = projectTimeline(runs, await wholeTimeline(gm, universeId));
  for (const run of runs) {
    const expected = fresh.runs.get(run.id);
    const { id, state, turnCount, sessionCount, milestones, completedAtPosition, lastSessionEndPosition } =
      expected ?? { ...run, state: "active", turnCount: 0, sessionCount: 0, milestones: 0 };
    expect(run).toMatchObject({
      id,
      state,
      turnCount,
      sessionCount,
      milestones,
      completedAtPosition,
      lastSessionEndPosition,
    });
  }
  const playerId = runs[0]?.playerId;
  if (!playerId) return;
  const progression = progressionFrom(fresh.credits, playerId);
  expect(await player.progression()).toMatchObject({
    runsCompleted: progression.runsCompleted,
    turnsInCompletedRuns: progression.turnsInCompletedRuns,
    milestones: progression.milestones,
    completedRunIds: progression.completedRunIds,
  });
}

/** `expectRecordsFollowLog` once the turns so far are persisted (it retries until `timeoutMs`). */
export async function recordsSettle(
  gm: LoomClient,
  player: LoomClient,
  universeId: string,
  runIds: readonly string[],
  timeoutMs = 10_000,
): Promise<void> {
  let last: unknown = null;
  try {
    await waitFor(
      async () => {
        try {
          await expectRecordsFollowLog(gm, player, universeId, runIds);
          return true;
        } catch (error) {
          last = error;
          return false;
        }
      },
      timeoutMs,
      "records to follow the log",
    );
  } catch {
    throw last instanceof Error ? last : new Error(String(last));
  }
}
