import { describe, expect, it } from "vitest";
import { projectTimeline, type Turn } from "@loom/shared";
import { AppendConflictError } from "./turn-store.ts";
import type { TurnStore } from "./turn-store.ts";
import { freshId } from "./testing/build.ts";
import { cast as castOf, recordTurn } from "./testing/records.ts";

/** Rules 20–: players, characters, runs, play sessions and progression (part of the TurnStore contract). */
export function describeRecordsContract(getStore: () => TurnStore): void {
  describe("records", () => {
    const cast = () => castOf(getStore());

    it("rule 20: players and characters read back as created", async () => {
      const { store, player, character } = await cast();
      expect(await store.getPlayer(player.id)).toEqual(player);
      expect(await store.getCharacter(character.id)).toEqual(character);
      expect(character.sheet).toEqual({ highConcept: "Sworn Blade of Ravensgate", skills: { Fight: 3 } });
      expect(await store.getPlayer(freshId("nobody"))).toBeNull();
      expect(await store.getCharacter(freshId("nobody"))).toBeNull();
    });

    const turn = recordTurn;

    async function withRun(therapeuticFocus: string | null = null) {
      const base = await cast();
      const run = await base.store.createRun({
        id: freshId("run"),
        playerId: base.player.id,
        characterId: base.character.id,
        universeId: base.universe.id,
        therapeuticFocus,
      });
      let head = 0;
      const all: Turn[] = [];
      /** Appends turns made from `make(position)`, `size` per batch. */
      const play = async (makes: Array<(position: number) => Turn>, size = makes.length) => {
        for (let i = 0; i < makes.length; i += size) {
          const turns = makes.slice(i, i + size).map((make, j) => make(head + j + 1));
          await base.store.appendTurns(base.universe.id, { expectedHead: head, turns });
          head += turns.length;
          all.push(...turns);
        }
      };
      const act =
        (runId = run.id) =>
        (position: number) =>
          turn(base.universe.id, position, { kind: "action", runId, input: { kind: "action" } });
      const system =
        (input: Record<string, unknown>, kind: Turn["kind"] = "system") =>
        (position: number) =>
          turn(base.universe.id, position, { kind, runId: run.id, characterId: base.character.id, input });
      const undo = (targetPosition: number) => (position: number) =>
        turn(base.universe.id, position, {
          kind: "undo",
          actor: "gm",
          input: { kind: "undo", targetPosition },
        });
      return { ...base, run, play, act, system, undo, all, head: () => head };
    }

    it("rule 21: a run starts fresh, and counts the applied played turns appended for it, however batched", async () => {
      const { store, player, universe, character, run, play, act, undo } = await withRun("grief");
      expect(run).toMatchObject({ state: "active", turnCount: 0, sessionCount: 0, milestones: 0 });
      const other = await store.createRun({
        id: freshId("run"),
        playerId: player.id,
        characterId: character.id,
        universeId: universe.id,
        therapeuticFocus: null,
      });
      const gmEvent = (position: number) => turn(universe.id, position, { kind: "world_event", actor: "gm" });
      await play([...Array.from({ length: 25 }, () => act()), act(other.id), gmEvent, act(other.id)], 7);
      expect(await store.getRun(run.id)).toMatchObject({ turnCount: 25, milestones: 1, state: "active" });
      expect(await store.getRun(other.id)).toMatchObject({ turnCount: 2, milestones: 0 });
      await play([undo(3), undo(26)]);
      expect((await store.getRun(run.id))!.turnCount).toBe(24);
      expect((await store.getRun(other.id))!.turnCount).toBe(1);
      expect((await store.listRuns({ playerId: player.id })).map((r) => r.id).sort()).toEqual(
        [run.id, other.id].sort(),
      );
      expect(await store.listRuns({ universeId: universe.id, characterId: character.id })).toHaveLength(2);
    });

    it("rule 22: play sessions open and close with their turns; a stale append changes no record", async () => {
      const { store, universe, run, play, act, system } = await withRun();
      await play([system({ kind: "session_start" }, "session_start"), act(), act()]);
      const [open] = await store.openSessions(universe.id);
      expect(open).toMatchObject({ runId: run.id, startPosition: 1, endPosition: null, endReason: null });
      await play([system({ kind: "session_end", summary: "Brenna found the ledger." }, "session_end")]);
      expect(await store.openSessions(universe.id)).toEqual([]);
      await play([
        system({ kind: "session_start" }, "session_start"),
        act(),
        system({ kind: "session_end", summary: "Cut short.", reason: "interrupted" }, "session_end"),
      ]);
      const sessions = await store.listSessions(run.id);
      expect(sessions).toMatchObject([
        { startPosition: 1, endPosition: 4, summary: "Brenna found the ledger.", endReason: "left" },
        { startPosition: 5, endPosition: 7, summary: "Cut short.", endReason: "interrupted" },
      ]);
      expect(sessions[0]!.id).not.toBe(sessions[1]!.id);
      expect(await store.getRun(run.id)).toMatchObject({
        sessionCount: 2,
        lastSessionEndPosition: 7,
        turnCount: 3,
      });
      const stale = [turn(universe.id, 7, { kind: "action", runId: run.id, input: { kind: "action" } })];
      await expect(store.appendTurns(universe.id, { expectedHead: 6, turns: stale })).rejects.toBeInstanceOf(
        AppendConflictError,
      );
      expect((await store.getRun(run.id))!.turnCount).toBe(3);
    });

    it("rule 23: a completion credits progression once, its undo revokes it; an abandonment never credits", async () => {
      const { store, player, run, play, act, system, undo, head } = await withRun("courage");
      expect(await store.getProgression(player.id)).toMatchObject({ runsCompleted: 0, unlocks: [] });
      const end = (outcome: string, reason: string | null = null) =>
        system({ kind: "run_end", runId: run.id, outcome, reason });
      await play([...Array.from({ length: 41 }, () => act()), end("completed", "victory")], 10);
      expect(await store.getRun(run.id)).toMatchObject({
        state: "completed",
        completionReason: "victory",
        completedAtPosition: 42,
        turnCount: 41,
        milestones: 2,
      });
      expect(await store.getProgression(player.id)).toMatchObject({
        runsCompleted: 1,
        turnsInCompletedRuns: 41,
        milestones: 2,
        metaconcepts: ["courage"],
        completedRunIds: [run.id],
      });
      await play([undo(42)]);
      expect(await store.getRun(run.id)).toMatchObject({ state: "active", completedAtPosition: null });
      expect(await store.getProgression(player.id)).toMatchObject({
        runsCompleted: 0,
        turnsInCompletedRuns: 0,
        milestones: 0,
        metaconcepts: [],
        completedRunIds: [],
      });
      await play([system({ kind: "run_pause", runId: run.id, paused: true })]);
      expect((await store.getRun(run.id))!.state).toBe("paused");
      await play([end("abandoned")]);
      expect((await store.getRun(run.id))!.state).toBe("abandoned");
      expect((await store.getProgression(player.id)).runsCompleted).toBe(0);
      await play([undo(head())]);
      expect((await store.getRun(run.id))!.state).toBe("active");
      await play([act(), end("completed", "retired")]);
      expect(await store.getProgression(player.id)).toMatchObject({
        runsCompleted: 1,
        turnsInCompletedRuns: 42,
      });
    });

    it("rule 24: the records equal a fresh projection of the persisted timeline", async () => {
      const { store, player, universe, run, play, act, system, undo } = await withRun("hope");
      await play(
        [
          system({ kind: "session_start" }, "session_start"),
          ...Array.from({ length: 30 }, () => act()),
          undo(5),
          system({ kind: "session_end", summary: "One." }, "session_end"),
          system({ kind: "session_start" }, "session_start"),
          act(),
          system({ kind: "run_end", runId: run.id, outcome: "completed", reason: "died" }),
          system({ kind: "session_end", summary: "Two." }, "session_end"),
        ],
        4,
      );
      const timeline: Turn[] = [];
      for (let cursor: number | null = 0; cursor !== null;) {
        const page = await store.timeline(universe.id, { cursor, limit: 500 });
        timeline.push(...page.turns);
        cursor = page.turns.length > 0 ? page.nextCursor : null;
      }
      const fresh = projectTimeline([run], timeline);
      const stored = (await store.getRun(run.id))!;
      expect(stored).toMatchObject(fresh.runs.get(run.id)!);
      expect(stored).toMatchObject({ turnCount: 30, sessionCount: 2, state: "completed" });
      expect((await store.getProgression(player.id)).turnsInCompletedRuns).toBe(30);
    });
  });
}
