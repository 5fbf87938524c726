import { describe, expect, it } from "vitest";
import { emptyState } from "@loom/shared";
import { NotFoundError } from "./turn-store.ts";
import type { TurnStore } from "./turn-store.ts";
import { freshId } from "./testing/build.ts";

/** Rules 20–: players, characters, runs, play sessions and progression (part of the TurnStore contract). */
export function describeRecordsContract(getStore: () => TurnStore): void {
  describe("records", () => {
    async function cast() {
      const store = getStore();
      const player = await store.createPlayer({ id: freshId("player"), name: "Ada" });
      const universe = await store.createUniverse(
        { id: freshId("universe"), name: "Shared", createdBy: player.id },
        emptyState(),
      );
      const character = await store.createCharacter({
        id: freshId("character"),
        playerId: player.id,
        universeId: universe.id,
        name: "Brenna",
        sheet: { highConcept: "Sworn Blade of Ravensgate", skills: { Fight: 3 } },
      });
      return { store, player, universe, character };
    }

    it("rule 20: players and characters read back as created", async () => {
      const { store, player, character } = await cast();
      expect(await store.getPlayer(player.id)).toEqual(player);
      expect(await store.getCharacter(character.id)).toEqual(character);
      expect(character.sheet).toEqual({ highConcept: "Sworn Blade of Ravensgate", skills: { Fight: 3 } });
      expect(await store.getPlayer(freshId("nobody"))).toBeNull();
      expect(await store.getCharacter(freshId("nobody"))).toBeNull();
    });

    it("rule 21: a run starts active and its lifecycle fields update; listRuns filters", async () => {
      const { store, player, universe, character } = await cast();
      const run = await store.createRun({
        id: freshId("run"),
        playerId: player.id,
        characterId: character.id,
        universeId: universe.id,
        therapeuticFocus: "grief",
      });
      expect(run).toMatchObject({
        state: "active",
        turnCount: 0,
        sessionCount: 0,
        milestones: 0,
        completedAtPosition: null,
        therapeuticFocus: "grief",
      });
      const paused = await store.updateRun(run.id, {
        state: "paused",
        turnCount: 12,
        lastSessionEndPosition: 40,
      });
      expect(paused).toMatchObject({
        state: "paused",
        turnCount: 12,
        lastSessionEndPosition: 40,
        createdAt: run.createdAt,
      });
      const done = await store.updateRun(run.id, {
        state: "completed",
        completionReason: "victory",
        completedAtPosition: 88,
      });
      expect(await store.getRun(run.id)).toEqual(done);
      const other = await store.createRun({
        id: freshId("run"),
        playerId: player.id,
        characterId: character.id,
        universeId: universe.id,
        therapeuticFocus: null,
      });
      expect((await store.listRuns({ playerId: player.id })).map((r) => r.id).sort()).toEqual(
        [run.id, other.id].sort(),
      );
      expect(await store.listRuns({ universeId: universe.id, characterId: character.id })).toHaveLength(2);
      await expect(store.updateRun(freshId("nobody"), { state: "abandoned" })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it("rule 22: play sessions start open and end with a position and a summary", async () => {
      const { store, player, universe, character } = await cast();
      const run = await store.createRun({
        id: freshId("run"),
        playerId: player.id,
        characterId: character.id,
        universeId: universe.id,
        therapeuticFocus: null,
      });
      const first = await store.startSession({
        id: freshId("session"),
        runId: run.id,
        universeId: universe.id,
        startPosition: 1,
      });
      expect(first).toMatchObject({ endPosition: null, summary: null, endedAt: null });
      const ended = await store.endSession(first.id, {
        endPosition: 30,
        summary: "Brenna found the ledger.",
      });
      expect(ended).toMatchObject({
        endPosition: 30,
        summary: "Brenna found the ledger.",
        startedAt: first.startedAt,
      });
      const second = await store.startSession({
        id: freshId("session"),
        runId: run.id,
        universeId: universe.id,
        startPosition: 31,
      });
      expect(await store.listSessions(run.id)).toEqual([ended, second]);
      await expect(
        store.endSession(freshId("nobody"), { endPosition: 1, summary: "" }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 23: progression is empty until written, then reads back as written", async () => {
      const { store, player } = await cast();
      expect(await store.getProgression(player.id)).toMatchObject({
        playerId: player.id,
        runsCompleted: 0,
        unlocks: [],
      });
      const progression = {
        playerId: player.id,
        runsCompleted: 2,
        turnsInCompletedRuns: 340,
        milestones: 17,
        metaconcepts: ["courage", "grief"],
        completedRunIds: ["run-a", "run-b"],
        unlocks: ["advanced_narratives", "multi_path_stories"],
        updatedAt: "2025-03-01T10:00:00.000Z",
      };
      await store.putProgression(progression);
      expect(await store.getProgression(player.id)).toEqual(progression);
      await store.putProgression({ ...progression, runsCompleted: 3, updatedAt: "2025-03-02T10:00:00.000Z" });
      expect((await store.getProgression(player.id)).runsCompleted).toBe(3);
    });
  });
}
