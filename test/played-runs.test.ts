import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";
import { recordsSettle } from "./support/records.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * Progression is earned by play: a run completed without a played turn of its own is completed
 * but credits nothing, however often a player starts and completes runs. And a character has at
 * most one open run in a universe, however many requests race to start one.
 */

async function post(
  url: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Completes the run as the player, and checks the answer against the route's schema. */
async function complete(url: string, client: LoomClient, runId: string) {
  const answer = await post(url, `/api/runs/${runId}/complete`, client.playerToken!, { reason: "x" });
  expect(answer.status).toBe(200);
  return API.completeRun.response.parse(answer.json);
}

/** One play session of the run: joins, makes `turns` played turns, leaves. */
async function session(
  client: LoomClient,
  universeId: string,
  run: { id: string; characterId: string },
  turns: number,
): Promise<void> {
  const seat = await client.joinUniverse(universeId, { role: "player", runId: run.id });
  for (let i = 0; i < turns; i++) {
    const result = await seat.act(overcome(run.characterId, `fords the channel ${i}`));
    if (!result.ok) throw new Error(`turn refused: ${result.rejection.code} ${result.rejection.message}`);
  }
  await seat.leave();
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`progression is earned by play (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2684 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("given runs started and completed without a played turn, each with a new focus, then nothing is credited", async () => {
      // a player who is their own universe's game master farms it
      const farmer = connect(server.url);
      await farmer.registerPlayer("Farmer");
      const universe = await farmer.createUniverse({ name: "Empty Fields" });
      const { character, run } = await farmer.createCharacter(universe.id, {
        ...sheet("Hollow"),
        therapeuticFocus: "focus-0",
      });
      const runIds = [run.id];
      for (let loop = 0; loop < 4; loop++) {
        const current = { id: runIds[loop]!, characterId: character.id };
        await session(farmer, universe.id, current, 0);
        const done = await complete(server.url, farmer, current.id);
        expect(done.run).toMatchObject({ id: current.id, state: "completed", turnCount: 0, sessionCount: 1 });
        expect(done.credited).toBe(false);
        const next = await post(server.url, `/api/universes/${universe.id}/runs`, farmer.playerToken!, {
          characterId: character.id,
          therapeuticFocus: `focus-${loop + 1}`,
        });
        expect(next.status).toBe(201);
        runIds.push((next.json.run as { id: string }).id);
      }

      expect(await farmer.progression()).toMatchObject({
        runsCompleted: 0,
        turnsInCompletedRuns: 0,
        milestones: 0,
        metaconcepts: [],
        completedRunIds: [],
        unlocks: [],
      });
      for (const id of runIds.slice(0, 4)) expect((await farmer.run(id)).state).toBe("completed");

      // the same player's next run, played for one turn, is credited, and only it
      const played = { id: runIds[4]!, characterId: character.id };
      await session(farmer, universe.id, played, 1);
      const done = await complete(server.url, farmer, played.id);
      expect(done.run).toMatchObject({ state: "completed", turnCount: 1 });
      expect(done.credited).toBe(true);
      expect(await farmer.progression()).toMatchObject({
        runsCompleted: 1,
        turnsInCompletedRuns: 1,
        metaconcepts: ["focus-4"],
        completedRunIds: [played.id],
        unlocks: [],
      });
      await recordsSettle(farmer, farmer, universe.id, runIds);
    }, 120_000);

    it("given a run played over several sessions, when completed, then it is credited once", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Long Road", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Wren");
      const { character, run } = await player.createCharacter(universe.id, {
        ...sheet("Wren"),
        therapeuticFocus: "patience",
      });
      const seat = { id: run.id, characterId: character.id };
      for (const turns of [2, 0, 3]) await session(player, universe.id, seat, turns);

      const done = await complete(server.url, player, run.id);
      expect(done.run).toMatchObject({ state: "completed", turnCount: 5, sessionCount: 3 });
      expect(done.credited).toBe(true);
      const again = await post(server.url, `/api/runs/${run.id}/complete`, player.playerToken!, {
        reason: "x",
      });
      expect(again.status).toBe(409);
      expect((again.json.error as { code: string }).code).toBe("run_not_active");
      // nor can she take the completion back, as the last thing she did or named by its position
      for (const body of [{}, { position: done.turn.position }]) {
        const undo = await post(server.url, `/api/universes/${universe.id}/undo`, player.playerToken!, body);
        expect([undo.status, (undo.json.error as { code: string }).code]).toEqual([403, "not_allowed"]);
      }
      expect((await player.run(run.id)).state).toBe("completed");
      expect(await player.progression()).toMatchObject({
        runsCompleted: 1,
        turnsInCompletedRuns: 5,
        metaconcepts: ["patience"],
        completedRunIds: [run.id],
      });
      await recordsSettle(gm, player, universe.id, [run.id]);
    }, 120_000);

    it("given a completed run whose played turns the GM undoes, in either order with the completion, then its count and credit are those of the turns that stand", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Reviser");
      const universe = await gm.createUniverse({ name: "Second Thoughts", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Ivo");
      const { character, run } = await player.createCharacter(universe.id, {
        ...sheet("Ivo"),
        therapeuticFocus: "doubt",
      });
      const seat = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
      const played = await seat.act(overcome(character.id, "crosses once"));
      if (!played.ok) throw new Error(played.rejection.code);
      await seat.leave();

      const first = await complete(server.url, player, run.id);
      expect(first.credited).toBe(true);
      // the play undone while the run is completed, then the completion
      await gm.undo(universe.id, played.turn.position);
      await waitFor(async () => (await player.progression()).runsCompleted === 0, 5_000, "credit taken back");
      await gm.undo(universe.id, first.turn.position);
      // the undo's answer waits for the run's record: read at once, the run is open again
      expect(await player.run(run.id)).toMatchObject({ state: "active", turnCount: 0, milestones: 0 });

      const second = await complete(server.url, player, run.id);
      expect(second.run).toMatchObject({ state: "completed", turnCount: 0 });
      expect(second.credited).toBe(false);
      expect(await player.progression()).toMatchObject({
        runsCompleted: 0,
        turnsInCompletedRuns: 0,
        metaconcepts: [],
        completedRunIds: [],
      });
      await recordsSettle(gm, player, universe.id, [run.id]);
    }, 120_000);

    it("given acts racing the run's completion or pause, then none is played after the turn that stops the run", async () => {
      for (const stop of ["complete", "pause"] as const) {
        for (let trial = 0; trial < 4; trial++) {
          const player = connect(server.url);
          await player.registerPlayer(`Racer ${stop} ${trial}`);
          const universe = await player.createUniverse({ name: "Photo finish" });
          const { character, run } = await player.createCharacter(universe.id, sheet("Sprinter"));
          const seat = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
          expect((await seat.act(overcome(character.id, "sets off"))).ok).toBe(true);
          const stopped =
            stop === "complete" ? player.completeRun(run.id, "victory") : player.pauseRun(run.id);
          const acts = [];
          for (let i = 0; i < 10; i++) {
            acts.push(seat.act({ kind: "custom", characterId: character.id, text: `one more step ${i}` }));
            await new Promise((resolve) => setTimeout(resolve, 2 + trial * 2));
          }
          await stopped;
          const answers = await Promise.all(acts);
          const { turns } = await player.history(universe.id, { order: "asc", limit: 500 });
          const kind = stop === "complete" ? "run_end" : "run_pause";
          const end = turns.find((turn) => turn.input.kind === kind)!.position;
          const played = turns.filter((turn) => turn.runId === run.id && turn.kind === "custom");
          expect(played.filter((turn) => turn.position > end)).toEqual([]);
          for (const answer of answers) {
            if (answer.ok) expect(answer.turn.position).toBeLessThan(end);
          }
          // what the run counts is what was played before it stopped
          expect((await player.run(run.id)).turnCount).toBe(1 + played.length);
          await seat.leave().catch(() => undefined);
        }
      }
    }, 120_000);

    it("given racing requests to start a run of one character, then one opens it and the rest are refused", async () => {
      const player = connect(server.url);
      await player.registerPlayer("Racer");
      const universe = await player.createUniverse({ name: "Starting Line" });
      const { character, run } = await player.createCharacter(universe.id, sheet("Quick"));
      await session(player, universe.id, { id: run.id, characterId: character.id }, 1);
      expect((await complete(server.url, player, run.id)).credited).toBe(true);

      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          post(server.url, `/api/universes/${universe.id}/runs`, player.playerToken!, {
            characterId: character.id,
          }),
        ),
      );
      const started = answers.filter((answer) => answer.status === 201);
      expect(started).toHaveLength(1);
      const opened = (started[0]!.json.run as { id: string }).id;
      const refused = answers.filter((answer) => answer.status !== 201);
      expect(refused.map((answer) => [answer.status, (answer.json.error as { code: string }).code])).toEqual(
        Array.from({ length: 7 }, () => [409, "conflict"]),
      );
      for (const answer of refused)
        expect((answer.json.error as { message: string }).message).toContain(opened);
      const { runs } = await player.me();
      const open = runs.filter(
        (each) =>
          each.characterId === character.id &&
          each.universeId === universe.id &&
          (each.state === "active" || each.state === "paused"),
      );
      expect(open.map((each) => each.id)).toEqual([opened]);
    }, 120_000);

    it("given runs whose characters never sat at the table, then each is paused, resumed, completed and abandoned all the same, its character entering the story first", async () => {
      const player = connect(server.url);
      await player.registerPlayer("Never Sat");
      const universe = await player.createUniverse({ name: "Empty Chairs" });
      const paused = await player.createCharacter(universe.id, sheet("Idle"));
      expect((await player.pauseRun(paused.run.id)).state).toBe("paused");
      expect((await player.resumeRun(paused.run.id)).state).toBe("active");
      const completed = await player.createCharacter(universe.id, sheet("Quick"));
      const answer = await complete(server.url, player, completed.run.id);
      expect(answer.run?.state).toBe("completed");
      expect(answer.credited).toBe(false);
      const abandoned = await player.createCharacter(universe.id, sheet("Gone"));
      expect((await player.abandonRun(abandoned.run.id)).run?.state).toBe("abandoned");
      // each character entered the story once, before its run's first turn
      const page = await player.history(universe.id, { limit: 100, order: "asc" });
      const kinds = page.turns.map((turn) => `${turn.kind}:${turn.characterId}`);
      expect(kinds).toEqual([
        `system:${paused.character.id}`,
        `system:${paused.character.id}`,
        `system:${paused.character.id}`,
        `system:${completed.character.id}`,
        `system:${completed.character.id}`,
        `system:${abandoned.character.id}`,
        `system:${abandoned.character.id}`,
      ]);
      expect(page.turns[0]!.events.map((event) => event.type)).toEqual(["character_joined"]);
      expect(page.turns[4]!.events.map((event) => event.type)).toEqual(["run_ended"]);
      // and the character can still sit down at the resumed run
      const seat = await player.joinUniverse(universe.id, { role: "player", runId: paused.run.id });
      expect((await seat.act(overcome(paused.character.id, "wakes up"))).ok).toBe(true);
      await seat.leave();
    });

    it("given an abandoned run and a newer one open, then the abandoned one is not resumed until the newer is over", async () => {
      const player = connect(server.url);
      await player.registerPlayer("Returner");
      const universe = await player.createUniverse({ name: "Second Chances" });
      const { character, run: first } = await player.createCharacter(universe.id, sheet("Again"));
      await session(player, universe.id, { id: first.id, characterId: character.id }, 1);
      await player.abandonRun(first.id);
      const second = await player.startRun(universe.id, character.id);
      const refused = await post(server.url, `/api/runs/${first.id}/resume`, player.playerToken!, {});
      expect(refused.status).toBe(409);
      expect(refused.json.error).toMatchObject({ code: "conflict" });
      expect((refused.json.error as { message: string }).message).toContain(second.id);
      expect((await player.run(first.id)).state).toBe("abandoned");
      // once the newer run is over, the first is the character's to take up again
      await player.abandonRun(second.id);
      expect((await player.resumeRun(first.id)).state).toBe("active");
    });

    it("a resume and a new run asked for at once: one of them opens, never both", async () => {
      const player = connect(server.url);
      await player.registerPlayer("Twice");
      const universe = await player.createUniverse({ name: "Fork in the Road" });
      const { character, run: first } = await player.createCharacter(universe.id, sheet("Fork"));
      await session(player, universe.id, { id: first.id, characterId: character.id }, 1);
      const token = player.playerToken!;
      for (let round = 0; round < 6; round++) {
        // given the character's one run abandoned
        const { runs } = await player.me();
        for (const each of runs)
          if (each.characterId === character.id && (each.state === "active" || each.state === "paused"))
            await player.abandonRun(each.id);
        // when it is resumed and a new run is started in the same moment
        const [resumed, started] = await Promise.all([
          post(server.url, `/api/runs/${first.id}/resume`, token, {}),
          post(server.url, `/api/universes/${universe.id}/runs`, token, { characterId: character.id }),
        ]);
        // then one of them is refused, and the character has one open run
        expect(
          [resumed.status, started.status].filter((status) => status === 409),
          `round ${round}`,
        ).toHaveLength(1);
        await waitFor(
          async () => {
            const now = (await player.me()).runs.filter(
              (each) => each.characterId === character.id && each.state === "active",
            );
            return now.length === 1;
          },
          5_000,
          `one open run after round ${round}`,
        );
      }
    });

    it("given an abandoned run and a newer one open, then undoing the abandonment is refused until the newer is over", async () => {
      const player = connect(server.url);
      await player.registerPlayer("Undoer");
      const universe = await player.createUniverse({ name: "Turned Back" });
      const { character, run: first } = await player.createCharacter(universe.id, sheet("Back"));
      await session(player, universe.id, { id: first.id, characterId: character.id }, 1);
      const { turn: ending } = await player.abandonRun(first.id);
      const second = await player.startRun(universe.id, character.id);
      const refused = await post(server.url, `/api/universes/${universe.id}/undo`, player.playerToken!, {
        position: ending.position,
      });
      expect(refused.status).toBe(409);
      expect(refused.json.error).toMatchObject({ code: "conflict" });
      expect((refused.json.error as { message: string }).message).toContain(second.id);
      expect((await player.run(first.id)).state).toBe("abandoned");
      expect((await player.run(second.id)).state).toBe("active");
      // another player aiming at that ending learns nothing of the runs: it is not theirs to undo
      const other = connect(server.url);
      await other.registerPlayer("Prober");
      await other.acceptInvite((await player.createInvite(universe.id)).code);
      const probed = await post(server.url, `/api/universes/${universe.id}/undo`, other.playerToken!, {
        position: ending.position,
      });
      expect(probed.json.error).toMatchObject({ code: "not_allowed" });
      expect(JSON.stringify(probed.json)).not.toContain(second.id);
      // once the newer run is over, the undo reopens the first
      await player.abandonRun(second.id);
      await player.undo(universe.id, ending.position);
      await waitFor(async () => (await player.run(first.id)).state === "active", 5_000, "the run reopened");
    });
  });
}
