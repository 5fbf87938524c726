import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import { checksum, CloseCode, questPath } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, overcome, sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

async function play(
  session: UniverseSession,
  characterId: string,
  turns: number,
  kind: "custom" | "advantage" = "custom",
): Promise<number[]> {
  const positions: number[] = [];
  for (let i = 0; i < turns; i++) {
    const command =
      kind === "advantage"
        ? {
            kind: "action" as const,
            action: "create_advantage" as const,
            characterId,
            skill: "Notice",
            aspectName: `Marked trail ${i}`,
            description: "scouts ahead",
          }
        : { kind: "custom" as const, characterId, text: `keeps moving through the marsh (${i})` };
    const result = await session.act(command);
    if (!result.ok) throw new Error(`turn refused: ${result.rejection.code} ${result.rejection.message}`);
    positions.push(result.turn.position);
  }
  return positions;
}

/**
 * A sheet whose advantages succeed: Legendary (+8) Notice against Fair (+2) succeeds whatever the
 * dice, with style on all but the worst roll (1 in 81). Over Fate Core's limits for a new
 * character: the game master of a universe it plays in raises the skill cap.
 */
function keen(name: string) {
  return sheet(name, { skills: { ...sheet(name).skills, Notice: 8 } });
}

async function sessionOf(client: LoomClient, universeId: string, runId: string): Promise<UniverseSession> {
  return client.joinUniverse(universeId, { role: "player", runId });
}

/**
 * Leaves and waits until the run's record shows the session ended, for steps that read it (the
 * record follows the session_end turn once it is persisted). Players do not wait: see
 * sessions.test.ts.
 */
async function leave(client: LoomClient, session: UniverseSession, runId: string): Promise<void> {
  const before = (await client.run(runId)).lastSessionEndPosition ?? 0;
  await session.leave();
  await waitFor(
    async () => ((await client.run(runId)).lastSessionEndPosition ?? 0) > before,
    10_000,
    "session end",
  );
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`continuity (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2591 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("seed 000: three runs in one shared universe; only completed runs feed progression", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Shared Marches", visibility: "public" });
      await gm.setCharacterLimits(universe.id, { skillCap: 8 }); // for keen()
      const player = connect(server.url);
      await player.registerPlayer("Riley");
      const alex = await player.createCharacter(universe.id, sheet("Alex"));
      const jordan = await player.createCharacter(universe.id, keen("Jordan"));
      const sam = await player.createCharacter(universe.id, sheet("Sam"));

      // Sam's first session, before the others play
      let samSession = await sessionOf(player, universe.id, sam.run.id);
      await play(samSession, sam.character.id, 20);
      await leave(player, samSession, sam.run.id);

      // Alex: 150 turns over five sessions; Jordan: 40 turns, then abandons
      for (const [index, turns] of [30, 30, 40, 25, 25].entries()) {
        const session = await sessionOf(player, universe.id, alex.run.id);
        await play(session, alex.character.id, turns);
        await leave(player, session, alex.run.id);
        if (index === 1) {
          const jordanSession = await sessionOf(player, universe.id, jordan.run.id);
          await play(jordanSession, jordan.character.id, 40, "advantage");
          await leave(player, jordanSession, jordan.run.id);
          await player.abandonRun(jordan.run.id);
        }
      }
      const alexDone = await player.completeRun(alex.run.id, "retired");
      expect(alexDone.run).toMatchObject({ state: "completed", turnCount: 150, completionReason: "retired" });
      expect((await player.run(alex.run.id)).sessionCount).toBe(5);

      // Sam comes back: the recap tells what the others did while Sam was away
      samSession = await sessionOf(player, universe.id, sam.run.id);
      const recap = samSession.lastRecap!;
      expect(recap).not.toBeNull();
      const awayFrom = new Set(recap.whileYouWereAway.map((entry) => entry.characterId));
      expect(awayFrom.has(alex.character.id)).toBe(true);
      expect(awayFrom.has(jordan.character.id)).toBe(true);
      expect(
        recap.whileYouWereAway.some(
          (entry) => entry.characterId === alex.character.id && /completes their story/.test(entry.text),
        ),
      ).toBe(true);
      expect(recap.whileYouWereAway.every((entry) => entry.characterId !== sam.character.id)).toBe(true);
      // Jordan's doings live on in the shared world state Sam plays in
      const aspects = [
        ...(samSession.state.scene as unknown as { aspects: Map<string, { name: string }> }).aspects.values(),
      ].map((a) => a.name);
      expect(aspects.some((name) => name.startsWith("Marked trail"))).toBe(true);
      await play(samSession, sam.character.id, 100);
      await leave(player, samSession, sam.run.id);
      await player.completeRun(sam.run.id, "victory");

      const progression = await player.progression();
      expect(progression.runsCompleted).toBe(2);
      expect(progression.turnsInCompletedRuns).toBe(270);
      expect(progression.milestones).toBe(13);
      expect([...progression.completedRunIds].sort()).toEqual([alex.run.id, sam.run.id].sort());
      expect(progression.unlocks).toContain("advanced_narratives");
      expect(progression.unlocks).not.toContain("complex_characters");
      expect(progression.unlocks).not.toContain("multi_path_stories");
      expect((await player.run(jordan.run.id)).state).toBe("abandoned");
    }, 120_000);

    it("seed 004: 20 turns, undo, branch, play both without cross-contamination; sessions update summaries", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Continuity", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Casey");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const session = await sessionOf(player, universe.id, run.id);
      const positions: number[] = [];
      for (let i = 0; i < 20; i++) {
        const result = await session.act(overcome(character.id, `step ${i}`));
        expect(result.ok).toBe(true);
        if (result.ok) positions.push(result.turn.position);
      }
      const last = positions[positions.length - 1]!;

      // the game master undoes the player's latest turn (a roll, which the player may not undo): the
      // state equals the state before it, checksum for checksum
      expect((await gm.undo(universe.id, last)).kind).toBe("undo");
      await leave(player, session, run.id);
      const beforeLast = await gm.stateAt(universe.id, last - 1);
      const afterUndo = await gm.stateAt(universe.id, last + 1);
      const undoTurn = await gm.turn(universe.id, last + 1);
      expect(undoTurn.kind).toBe("undo");
      expect((await gm.turn(universe.id, last)).status).toBe("undone");
      expect(afterUndo.checksum).toBe(beforeLast.checksum);

      // the session end wrote the summaries into canon
      const withSummary = await gm.stateAt(universe.id);
      expect(withSummary.state.canon.summaryRecent).toContain("Mara");
      expect(withSummary.state.canon.summaryLong).toContain(
        withSummary.state.canon.summaryRecent.slice(0, 20),
      );
      const recap = await player.recap(run.id);
      expect(recap.recentSummary).toBe(withSummary.state.canon.summaryRecent);

      // branch at the head, then play both timelines
      const branchAt = withSummary.position;
      const branch = await gm.branch(universe.id, branchAt, "What if");
      expect(branch).toMatchObject({ parentId: universe.id, branchPosition: branchAt });
      const branchRun = await player.startRun(branch.id, character.id);
      const onBranch = await sessionOf(player, branch.id, branchRun.id);
      const branchTurns = await play(onBranch, character.id, 5);
      await leave(player, onBranch, branchRun.id);
      const onParent = await sessionOf(player, universe.id, run.id);
      const parentTurns = await play(onParent, character.id, 7);
      await leave(player, onParent, run.id);

      const parentHistory = (await gm.history(universe.id, { order: "asc", limit: 500 })).turns;
      const branchHistory = (await gm.history(branch.id, { order: "asc", limit: 500 })).turns;
      expect(branchHistory.slice(0, branchAt).map((t) => t.id)).toEqual(
        parentHistory.slice(0, branchAt).map((t) => t.id),
      );
      const parentIds = new Set(parentHistory.map((t) => t.id));
      const branchOwn = branchHistory.slice(branchAt);
      expect(branchOwn.length).toBeGreaterThanOrEqual(branchTurns.length);
      expect(branchOwn.every((t) => !parentIds.has(t.id))).toBe(true);
      const branchIds = new Set(branchHistory.map((t) => t.id));
      expect(parentHistory.slice(branchAt).every((t) => !branchIds.has(t.id))).toBe(true);
      expect(parentHistory.length).toBeGreaterThanOrEqual(branchAt + parentTurns.length);
      // the shared past is identical in both
      expect((await gm.stateAt(branch.id, branchAt)).checksum).toBe(
        (await gm.stateAt(universe.id, branchAt)).checksum,
      );
      expect((await gm.stateAt(branch.id)).checksum).not.toBe((await gm.stateAt(universe.id)).checksum);
    }, 60_000);

    it("a run resumed after 2,000 other turns is told what happened since its last session", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Long Absence", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Ada");
      const { character, run } = await player.createCharacter(universe.id, sheet("Ada"));
      const first = await sessionOf(player, universe.id, run.id);
      await play(first, character.id, 3);
      await leave(player, first, run.id);
      const lastEnd = (await player.run(run.id)).lastSessionEndPosition!;

      // 2,000 world events by the GM while Ada is away, eight in flight at a time: 200 major ones,
      // ten times what a recap shows
      const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
      const total = 2_000;
      let next = 0;
      let head = 0;
      const lane = async () => {
        while (next < total) {
          const i = next++;
          const result = await gmSession.act({
            kind: "world_event",
            text: `The tide turns, day ${i}`,
            major: i % 10 === 0,
          });
          if (!result.ok) throw new Error(result.rejection.message);
          head = Math.max(head, result.turn.position);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      await gmSession.leave();

      const back = await sessionOf(player, universe.id, run.id);
      const recap = back.lastRecap!;
      expect(recap.previousSessionEnd).toBe(lastEnd);
      const away = recap.whileYouWereAway;
      expect(away.length).toBeGreaterThan(0);
      // newest major events, all after Ada left, none hers, in timeline order
      expect(away.every((entry) => entry.position > lastEnd && entry.position <= head)).toBe(true);
      expect(away.every((entry) => /The tide turns, day \d*0\b/.test(entry.text))).toBe(true);
      expect(away.map((e) => e.position)).toEqual([...away.map((e) => e.position)].sort((a, b) => a - b));
      expect(away[away.length - 1]!.text).toContain(`day ${total - 10}`);
      expect(away.length + recap.omitted.whileYouWereAway).toBe(total / 10);
      await back.leave();
    }, 180_000);

    it("a glance at the table (join, leave without a turn) leaves the recap's last time and the summaries as they were", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Glances", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 3);
      await leave(player, evening, run.id);
      const played = (await gm.stateAt(universe.id)).state.canon;
      expect(played.summaryRecent).toMatch(/^Mara played 3 turns/);

      for (let glance = 0; glance < 3; glance++) {
        const look = await sessionOf(player, universe.id, run.id);
        expect(look.lastRecap!.recentSummary).toBe(played.summaryRecent);
        await leave(player, look, run.id);
      }
      const back = await sessionOf(player, universe.id, run.id);
      expect(back.lastRecap!.recentSummary).toBe(played.summaryRecent);
      await back.leave();
      const canon = (await gm.stateAt(universe.id)).state.canon;
      expect(canon.summaryRecent).toBe(played.summaryRecent);
      expect(canon.summaryLong).toBe(played.summaryLong);
      // every visit is a play session all the same, as the run's sessions list shows it
      expect((await player.run(run.id)).sessionCount).toBe(5);
    }, 60_000);

    it("a new run of a character who has played here goes on from her last session, not as a first arrival", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Second Runs", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
      const evening = await sessionOf(player, universe.id, run.id);
      const seen = await gmSession.act({ kind: "world_event", text: "The bridge collapses", major: true });
      if (!seen.ok) throw new Error(seen.rejection.message);
      await play(evening, character.id, 2);
      await leave(player, evening, run.id);
      const told = (await player.run(run.id)).lastSessionEndPosition!;
      await player.completeRun(run.id, "retired");
      const later = await gmSession.act({ kind: "world_event", text: "Winter comes", major: true });
      if (!later.ok) throw new Error(later.rejection.message);
      await gmSession.leave();

      const again = await player.startRun(universe.id, character.id);
      const back = await sessionOf(player, universe.id, again.id);
      const recap = back.lastRecap!;
      expect(recap.previousSessionEnd).toBe(told);
      expect(recap.recentSummary).toMatch(/^Mara played 2 turns/);
      // what she saw is not news; what came after her last session is
      expect(recap.whileYouWereAway.map((entry) => entry.text)).toEqual([
        expect.stringContaining("Winter comes"),
      ]);
      const start = (await gm.history(universe.id, { kind: "session_start", limit: 1 })).turns[0]!;
      expect(start.input).not.toHaveProperty("first");
      // a glance in the new run (no turn of its own) leaves her last time as it was
      await leave(player, back, again.id);
      expect((await player.recap(again.id)).recentSummary).toMatch(/^Mara played 2 turns/);
      const after = await sessionOf(player, universe.id, again.id);
      expect(after.lastRecap!.recentSummary).toMatch(/^Mara played 2 turns/);
      await after.leave();
    }, 60_000);

    it("a run started in a branch goes on from the character's last session before the branch's start", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Forking Paths", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Ann");
      const { character, run } = await player.createCharacter(universe.id, sheet("Ann"));
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 2);
      await leave(player, evening, run.id);
      const forkAt = (await player.run(run.id)).lastSessionEndPosition!;
      // she plays on in the parent after the branch's start: that session is not the branch's past
      const later = await sessionOf(player, universe.id, run.id);
      await play(later, character.id, 1);
      await leave(player, later, run.id);

      const branch = await gm.branch(universe.id, forkAt, "The other road");
      const there = await player.startRun(branch.id, character.id);
      const back = await sessionOf(player, branch.id, there.id);
      expect(back.lastRecap!.previousSessionEnd).toBe(forkAt);
      // she played minutes ago, in the parent: her fate points do not refresh for a new run here
      const opened = (await gm.history(branch.id, { kind: "session_start", limit: 1 })).turns[0]!;
      expect(opened.input).toMatchObject({ refresh: false });
      expect(back.lastRecap!.recentSummary).toMatch(/^Ann played 2 turns/);
      // told as the branch's story, under its own name
      expect(back.lastRecap!.universeName).toBe("The other road");
      expect(back.lastRecap!.text).toContain("The other road");
      expect(back.lastRecap!.text).not.toContain("Forking Paths");
      const start = (await gm.history(branch.id, { kind: "session_start", limit: 1 })).turns[0]!;
      expect(start.position).toBeGreaterThan(forkAt);
      expect(start.input).not.toHaveProperty("first");
      await leave(player, back, there.id);
      expect((await player.recap(there.id)).recentSummary).toMatch(/^Ann played 2 turns/);
    }, 60_000);

    it("a session of a pause alone is no play: the last time stays the one she played, under her name before she ever joined", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Idle Hands", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Pia");
      const { character, run } = await player.createCharacter(universe.id, sheet("Pia"));
      // not in the story yet: named as created, not by her id
      const before = await player.recap(run.id);
      expect(before.characterName).toBe("Pia");
      expect(before.text).not.toContain(character.id);
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 2);
      await leave(player, evening, run.id);
      const glance = await sessionOf(player, universe.id, run.id);
      await player.pauseRun(run.id);
      await leave(player, glance, run.id);
      await player.resumeRun(run.id);
      const back = await sessionOf(player, universe.id, run.id);
      expect(back.lastRecap!.recentSummary).toMatch(/^Pia played 2 turns \(2 moves of their own\)/);
      const sessions = await player.runSessions(run.id);
      // the two ended (the open one may not be listed yet)
      expect(sessions.slice(0, 2).map((session) => session.summary)).toEqual([
        expect.stringMatching(/^Pia played 2 turns/),
        "",
      ]);
      await back.leave();
    }, 60_000);

    it("a character's arrival cannot be undone: she plays on, and her session ends as any", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Unmade", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Ivy");
      const { run } = await player.createCharacter(universe.id, sheet("Ivy"));
      const seated = await sessionOf(player, universe.id, run.id);
      const arrival = (await gm.history(universe.id, { order: "asc" })).turns.find(
        (turn) => turn.kind !== "session_start" && turn.characterId === run.characterId,
      )!;
      expect(arrival.events.map((event) => event.description).join(" ")).toContain("enters the story");
      // undone, she could no longer act while seated, and her next join brought her in as new
      await expect(gm.undo(universe.id, arrival.position)).rejects.toMatchObject({
        code: "not_allowed",
        message: expect.stringContaining("brings a character into the story"),
      });
      const played = await seated.act(overcome(run.characterId, "stays"));
      expect(played.ok).toBe(true);
      await leave(player, seated, run.id);
      const sessions = await player.runSessions(run.id);
      expect(sessions.map((session) => session.endReason)).toEqual(["left"]);
    }, 60_000);

    it("a run's pause and resume cannot be undone: the run stays as the timeline says", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Held Breath", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Oona");
      const { run } = await player.createCharacter(universe.id, sheet("Oona"));
      const seated = await sessionOf(player, universe.id, run.id);
      expect((await seated.act(overcome(run.characterId, "before the pause"))).ok).toBe(true);
      await leave(player, seated, run.id);
      const paused = await player.pauseRun(run.id);
      expect(paused.state).toBe("paused");
      const pauseTurn = (await gm.history(universe.id, { order: "desc", limit: 1 })).turns[0]!;
      expect(pauseTurn.input).toMatchObject({ kind: "run_pause", paused: true });

      for (const who of [player, gm])
        await expect(who.undo(universe.id, pauseTurn.position)).rejects.toMatchObject({
          code: "not_allowed",
          message: expect.stringContaining("resume the run instead"),
        });
      // the game master's undo of the latest passes over the pause to the turn before it
      const undone = await gm.undo(universe.id);
      expect(undone.input).toMatchObject({ kind: "undo" });
      expect(undone.input.targetPosition).toBeLessThan(pauseTurn.position);
      expect((await player.run(run.id)).state).toBe("paused");

      const resumed = await player.resumeRun(run.id);
      expect(resumed.state).toBe("active");
      const resumeTurn = (await gm.history(universe.id, { order: "desc", limit: 1 })).turns[0]!;
      await expect(gm.undo(universe.id, resumeTurn.position)).rejects.toMatchObject({
        code: "not_allowed",
        message: expect.stringContaining("pause the run instead"),
      });
      expect((await player.run(run.id)).state).toBe("active");
    }, 60_000);

    it("a move undone after its session ended is no longer told in that session's last time", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Second Thoughts", visibility: "public" });
      await gm.setCharacterLimits(universe.id, { skillCap: 8 }); // for keen()
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, keen("Mara"));
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      let major: { position: number; aspect: string } | null = null;
      for (let i = 0; i < 20 && !major; i++) {
        const aspect = `Undone trail ${i}`;
        const result = await evening.act({
          kind: "action",
          action: "create_advantage",
          characterId: character.id,
          skill: "Notice",
          aspectName: aspect,
          description: "scouts ahead",
        });
        if (!result.ok) throw new Error(result.rejection.message);
        if (result.turn.events.some((event) => event.major && event.description.includes(aspect)))
          major = { position: result.turn.position, aspect };
      }
      expect(major).not.toBeNull();
      await leave(player, evening, run.id);
      const look = await sessionOf(player, universe.id, run.id);
      expect(look.lastRecap!.recentSummary).toContain(major!.aspect);
      await leave(player, look, run.id);

      await gm.undo(universe.id, major!.position);
      const back = await sessionOf(player, universe.id, run.id);
      const recap = back.lastRecap!;
      expect(recap.recentSummary).toMatch(/^Mara played \d+ turns?/);
      expect(recap.recentSummary).not.toContain(major!.aspect);
      await back.leave();
    }, 60_000);

    it("a fight undone after its session ended leaves no trace in that session's last time", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Cooler Heads", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const warden = await table.act({ kind: "npc", op: "add", id: "warden", name: "The Warden" });
      if (!warden.ok) throw new Error(warden.rejection.message);
      await table.leave();

      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      const fight = await evening.act({
        kind: "action",
        action: "attack",
        characterId: character.id,
        skill: "Fight",
        target: { type: "npc", id: "warden" },
        description: "swings at the Warden",
      });
      if (!fight.ok) throw new Error(fight.rejection.message);
      await leave(player, evening, run.id);
      const look = await sessionOf(player, universe.id, run.id);
      expect(look.lastRecap!.recentSummary).toMatch(/The Warden is now hostile toward Mara/);
      await leave(player, look, run.id);

      // the game master takes the fight back: the Warden never turned on her
      await gm.undo(universe.id, fight.turn.position);
      const back = await sessionOf(player, universe.id, run.id);
      const told = back.lastRecap!.recentSummary;
      expect(told).toMatch(/^Mara played 1 turn \(1 move of their own\)\./);
      expect(told).not.toContain("Warden");
      expect(told).toContain("Stress: physical 0 of");
      expect(await player.recap(run.id)).toMatchObject({ recentSummary: told });
      await back.leave();
    }, 60_000);

    it("a quest the game master opened in her session and undid since is not in that session's last time", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Second Bell", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));

      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const quest = await table.act({
        kind: "quest",
        op: "start",
        id: "bell",
        title: "Find the Drowned Bell",
      });
      if (!quest.ok) throw new Error(quest.rejection.message);
      await table.leave();
      await play(evening, character.id, 1);
      await leave(player, evening, run.id);
      const look = await sessionOf(player, universe.id, run.id);
      expect(look.lastRecap!.recentSummary).toContain("Find the Drowned Bell");
      await leave(player, look, run.id);

      // the game master takes the quest back: none of Mara's own turns was undone
      await gm.undo(universe.id, quest.turn.position);
      const back = await sessionOf(player, universe.id, run.id);
      const told = back.lastRecap!.recentSummary;
      expect(told).toMatch(/^Mara played 2 turns/);
      expect(told).not.toContain("Drowned Bell");
      expect(await player.recap(run.id)).toMatchObject({ recentSummary: told });
      await back.leave();
    }, 60_000);

    it("a retcon since her session is how that session's last time tells it", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Never Freed", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));

      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      for (const op of ["start", "resolve"] as const) {
        const quest = await table.act({ kind: "quest", op, id: "keeper", title: "Rescue the Keeper" });
        if (!quest.ok) throw new Error(quest.rejection.message);
      }
      await table.leave();
      await leave(player, evening, run.id);
      const look = await sessionOf(player, universe.id, run.id);
      expect(look.lastRecap!.recentSummary).toMatch(/"Rescue the Keeper" is now resolved/);
      await leave(player, look, run.id);

      // the game master corrects canon: the Keeper was never freed
      await gm.retcon(universe.id, "The Keeper was never freed", [
        { op: "set", path: questPath("keeper", "state"), value: "active" },
      ]);
      const back = await sessionOf(player, universe.id, run.id);
      const told = back.lastRecap!.recentSummary;
      expect(told).toMatch(/^Mara played 1 turn/);
      expect(told).not.toContain("resolved");
      expect(told).toMatch(/"Rescue the Keeper" is now active/);
      await back.leave();
    }, 60_000);

    it("a retcon that writes a record whole corrects what her session tells, and brings nothing from after it", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Bronze Bell", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const started = await table.act({ kind: "quest", op: "start", id: "bell", title: "Find the bell" });
      if (!started.ok) throw new Error(started.rejection.message);
      await leave(player, evening, run.id);
      // after she left: the quest is resolved, another begins
      for (const command of [
        { kind: "quest" as const, op: "resolve" as const, id: "bell" },
        { kind: "quest" as const, op: "start" as const, id: "later", title: "Ring the bell" },
      ]) {
        const done = await table.act(command);
        if (!done.ok) throw new Error(done.rejection.message);
      }
      await table.leave();
      // the game master corrects both records by writing each whole, as they stand now
      const now = (await gm.stateAt(universe.id)).state;
      const quest = (id: string) => {
        const bucket = (now.questBuckets as Record<string, Record<string, Record<string, unknown>>>)[
          questPath(id).split("/")[2]!
        ]!;
        return bucket[id]!;
      };
      await gm.retcon(universe.id, "The bell was bronze, and the second quest had another name", [
        { op: "set", path: questPath("bell"), value: { ...quest("bell"), title: "Find the bronze bell" } },
        { op: "set", path: questPath("later"), value: { ...quest("later"), title: "Ring the bronze bell" } },
      ]);
      const told = (await player.recap(run.id)).recentSummary;
      expect(told).toMatch(/"Find the bronze bell" is now active/);
      expect(told).not.toContain("resolved");
      expect(told).not.toContain("Ring the");
    }, 60_000);

    it("what the game master did to the character while she was away is in her recap", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Honours", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      await leave(player, evening, run.id);

      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const milestone = await table.act({
        kind: "milestone",
        characterId: character.id,
        level: "major",
        note: "saved the city",
      });
      if (!milestone.ok) throw new Error(milestone.rejection.message);
      expect(milestone.turn.events.some((event) => event.major)).toBe(true);
      await table.leave();

      const back = await sessionOf(player, universe.id, run.id);
      expect(back.lastRecap!.whileYouWereAway.map((turn) => turn.position)).toContain(
        milestone.turn.position,
      );
      await back.leave();
    }, 60_000);

    it("a second tab of an open session has no recap: the first tab's was built at its start", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Two Tabs", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const first = await sessionOf(player, universe.id, run.id);
      expect(first.lastRecap).not.toBeNull();
      await play(first, character.id, 1);
      const second = await sessionOf(player, universe.id, run.id);
      expect(second.lastRecap).toBeNull();
      await second.leave();
      await leave(player, first, run.id);
    }, 60_000);

    it("what the others did while a dropped player's seat was kept is news to her when she comes back", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Dropped Line", visibility: "public" });
      // her device loses the network for good: no reconnection, no rejoin
      const player = connect(server.url, { failoverMs: 0 });
      const { player: mara } = await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const evening = await sessionOf(player, universe.id, run.id);
      const played = await play(evening, character.id, 2);
      void breakUntil(evening, new Promise(() => undefined));
      const seated = () =>
        matchMaker
          .getLocalRoomById(universe.id)
          .clients.some((client) => (client.auth as { playerId?: string })?.playerId === mara.id);
      await waitFor(async () => !seated(), 5_000, "the server to see her connection drop");

      // the game master plays on while her seat is kept for her
      const news: number[] = [];
      for (let i = 0; i < 3; i++) {
        const result = await table.act({
          kind: "world_event",
          text: `The dam gives way, day ${i}`,
          major: true,
        });
        if (!result.ok) throw new Error(result.rejection.message);
        news.push(result.turn.position);
      }
      // she does not come back within the window: her session ends
      await waitFor(
        async () => ((await player.run(run.id)).lastSessionEndPosition ?? 0) > news.at(-1)!,
        10_000,
        "her session's end",
      );
      const [session] = await player.runSessions(run.id);
      const firstNews = await gm.turn(universe.id, news[0]!);
      expect(Date.parse(session!.endedAt!)).toBeLessThan(Date.parse(firstNews.createdAt));

      // days later, from her mended device
      const again = connect(server.url).useToken(player.playerToken!);
      const back = await sessionOf(again, universe.id, run.id);
      const recap = back.lastRecap!;
      expect(recap.recentSummary).toMatch(/^Mara played 2 turns/);
      expect(recap.previousSessionEnd).toBeGreaterThanOrEqual(played.at(-1)!);
      expect(recap.previousSessionEnd).toBeLessThan(news[0]!);
      expect(recap.whileYouWereAway.map((turn) => turn.position)).toEqual(news);
      expect((await again.recap(run.id)).whileYouWereAway.map((turn) => turn.position)).toEqual(news);
      await back.leave();
      await table.leave();
    }, 60_000);

    it("a player whose connection comes back within the window plays on in the same session", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Flicker", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const evening = await sessionOf(player, universe.id, run.id);
      await play(evening, character.id, 1);
      let letBack = () => undefined as void;
      const back = breakUntil(evening, new Promise<void>((resolve) => (letBack = resolve)));
      const seen = await table.act({ kind: "world_event", text: "A bell rings out", major: true });
      if (!seen.ok) throw new Error(seen.rejection.message);
      letBack();
      await back;
      await play(evening, character.id, 1);
      await leave(player, evening, run.id);
      const sessions = await player.runSessions(run.id);
      expect(sessions).toHaveLength(1);
      const end = await gm.turn(universe.id, sessions[0]!.endPosition!);
      expect(end.input.through).toBeUndefined();
      const next = await sessionOf(player, universe.id, run.id);
      expect(next.lastRecap!.previousSessionEnd).toBe(sessions[0]!.endPosition);
      expect(next.lastRecap!.whileYouWereAway).toEqual([]);
      await next.leave();
      await table.leave();
    }, 60_000);

    it("a run the game master completes while its player is seated closes her tabs, the one reconnecting too", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Curtain", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const tab = connect(server.url).useToken(player.playerToken!, player.refreshToken);
      const first = await sessionOf(player, universe.id, run.id);
      const second = await sessionOf(tab, universe.id, run.id);
      const closed = (session: UniverseSession) =>
        new Promise<number>((resolve) => session.on("leave", (code) => resolve(code)));
      const firstClosed = closed(first);
      const secondClosed = closed(second);
      const heard: string[] = [];
      first.on("turn", (turn) => heard.push(String(turn.input.kind)));
      await play(first, character.id, 2);
      await play(second, character.id, 1);
      // the second tab's connection is lost just as the game master ends the run
      let completed = () => undefined as void;
      void breakUntil(second, new Promise<void>((resolve) => (completed = resolve)));

      const ended = await gm.completeRun(run.id, "victory");
      expect(ended.run.state).toBe("completed");
      completed();
      expect(await firstClosed).toBe(CloseCode.RunClosed);
      expect(await secondClosed).toBe(CloseCode.RunClosed);
      // the turn that ended it reached her before her seat closed
      expect(heard).toContain("run_end");
      // a command after it is answered at once with why, not left waiting for a seat
      const act = await first.act({ kind: "custom", characterId: character.id, text: "bows" });
      expect(act).toMatchObject({ ok: false, rejection: { code: "run_not_active" } });
      // her session ended with her seats, its three moves told
      await waitFor(
        async () => (await player.runSessions(run.id)).every((session) => session.endPosition !== null),
        10_000,
        "her session's end",
      );
      expect(await player.runSessions(run.id)).toHaveLength(1);
      expect((await player.run(run.id)).turnCount).toBe(3);
      const canon = (await gm.stateAt(universe.id)).state.canon;
      expect(canon.summaryRecent).toMatch(/^Mara played \d+ turns \(3 moves of their own/);
    }, 60_000);

    it("a tab back after its seat was given up learns that the game master completed the run meanwhile", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Late curtain", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const tab = await sessionOf(player, universe.id, run.id);
      const closed = new Promise<number>((resolve) => tab.on("leave", (code) => resolve(code)));
      await play(tab, character.id, 1);
      // the connection is lost, and comes back only after the server gave its seat up (1 s here):
      // the reconnection is refused without a reason, the rejoin with one
      let comeBack = () => undefined as void;
      void breakUntil(tab, new Promise<void>((resolve) => (comeBack = resolve)));
      expect((await gm.completeRun(run.id, "victory")).run.state).toBe("completed");
      await waitFor(
        async () => (await player.runSessions(run.id)).every((session) => session.endPosition !== null),
        10_000,
        "the seat given up",
      );
      comeBack();
      expect(await closed).toBe(CloseCode.RunClosed);
      const act = await tab.act({ kind: "custom", characterId: character.id, text: "bows" });
      expect(act).toMatchObject({ ok: false, rejection: { code: "run_not_active" } });
    }, 60_000);

    it("recaps are deterministic, and GM tools are refused to players with a code", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Determinism", visibility: "public" });
      await gm.setCharacterLimits(universe.id, { skillCap: 8 }); // for keen()
      const player = connect(server.url);
      await player.registerPlayer("Noor");
      const { character, run } = await player.createCharacter(universe.id, sheet("Noor"));
      const other = await player.createCharacter(universe.id, keen("Ilse"));
      const first = await sessionOf(player, universe.id, run.id);
      await play(first, character.id, 5);
      await leave(player, first, run.id);
      const ilse = await sessionOf(player, universe.id, other.run.id);
      await play(ilse, other.character.id, 30, "advantage");
      await leave(player, ilse, other.run.id);

      const a = await fetch(`${server.url}/api/runs/${run.id}/recap`, {
        headers: { authorization: `Bearer ${player.playerToken}` },
      }).then((r) => r.text());
      const b = await fetch(`${server.url}/api/runs/${run.id}/recap`, {
        headers: { authorization: `Bearer ${player.playerToken}` },
      }).then((r) => r.text());
      expect(a).toBe(b);
      const recap = JSON.parse(a) as { whileYouWereAway: Array<{ characterId: string }> };
      expect(recap.whileYouWereAway.length).toBeGreaterThan(0);
      expect(recap.whileYouWereAway.every((entry) => entry.characterId === other.character.id)).toBe(true);

      await expect(player.branch(universe.id, 1)).rejects.toMatchObject({ code: "not_allowed", status: 403 });
      await expect(player.retcon(universe.id, "It was all a dream")).rejects.toMatchObject({
        code: "not_allowed",
      });
      const gmRetcon = await gm.retcon(universe.id, "The bridge was always stone", []);
      expect(gmRetcon.kind).toBe("retcon");
      await waitFor(
        async () => (await gm.stateAt(universe.id)).position >= gmRetcon.position,
        5_000,
        "retcon persisted",
      );
      const state = await gm.stateAt(universe.id);
      expect(state.state.canon.retconNotes.map((n) => n.note)).toContain("The bridge was always stone");
      expect(checksum(state.state)).toBe(state.checksum);

      // a snapshot on request: the state at the head is then read from it, no replay
      await expect(player.snapshot(universe.id)).rejects.toMatchObject({ code: "not_allowed" });
      const at = await gm.snapshot(universe.id);
      const fromSnapshot = await gm.stateAt(universe.id, at);
      expect(fromSnapshot).toMatchObject({ fromSnapshot: at, replayed: 0, checksum: state.checksum });
    }, 60_000);
  });
}
