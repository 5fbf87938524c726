import { describe, expect, it } from "vitest";
import { readFact } from "../canon-facts.ts";
import { checksum } from "../canonical.ts";
import { commandSchema, type CommandInput } from "../command.ts";
import { decide } from "../decide.ts";
import { isRejection } from "../rejection.ts";
import { scriptedDice } from "../testing/dice.ts";
import { GM, play, player, SYSTEM, type Step } from "../testing/timeline.ts";
import { sampleCharacter, seedUniverse } from "../testing/universe.ts";
import type { Turn } from "../turn.ts";
import { defaultUndoTarget, overlaps, rolledDice, undoRefusal, undoDecision } from "./undo.ts";

const MARA = player("player-1");
const KELL = player("player-2");
const as = (actor: Step["actor"], input: CommandInput, dice?: number[]): Step => ({
  actor,
  command: commandSchema.parse(input),
  dice,
});

/** Mara earns an aspect; Kell speaks; the GM posts a major event (each touches different paths). */
const opening: Step[] = [
  as(
    MARA,
    {
      kind: "action",
      characterId: "mara",
      action: "create_advantage",
      skill: "Notice",
      aspectName: "High Ground",
      opposition: 0,
    },
    [1, 0, 0, 0],
  ),
  as(
    KELL,
    {
      kind: "action",
      characterId: "kell",
      action: "overcome",
      skill: "Athletics",
      opposition: 0,
      invokes: [{ aspect: "Salt in My Veins", effect: "bonus", payment: "fate_point" }],
    },
    [0, 0, 0, 0],
  ),
  as(GM, { kind: "world_event", text: "A storm breaks", major: false }),
];

function undo(
  played: { turns: Turn[]; state: ReturnType<typeof seedUniverse> },
  position: number,
  actor: Step["actor"],
) {
  const target = played.turns[position - 1]!;
  return undoDecision(played.state, target, played.turns.slice(position), actor);
}

describe("undo (DESIGN §4)", () => {
  it("given Mara's aspect, when she undoes her turn, then the state is exactly as before it", () => {
    const genesis = seedUniverse();
    const before = play(genesis, opening.slice(0, 0));
    const after = play(genesis, opening.slice(0, 1));
    const undone = play(genesis, [{ actor: MARA, command: { kind: "undo", targetPosition: 1 } }], {
      from: after,
    });
    expect(checksum(undone.state)).toBe(checksum(before.state));
    expect(checksum(undone.state)).toBe(checksum(genesis));
    expect(undone.turns[0]!.status).toBe("undone");
    expect(undone.turns[1]).toMatchObject({ kind: "undo", status: "applied" });
    expect(undone.turns[1]!.events[0]!.description).toMatch(
      /^Mara undoes turn 1 \(Mara creates an advantage/,
    );
  });

  it("reverts fate points, canon and aspects together", () => {
    const played = play(seedUniverse(), opening);
    expect(played.state.characters.kell!.fatePoints).toBe(2);
    const decision = undo(played, 2, KELL);
    if (isRejection(decision)) throw new Error(decision.code);
    expect(decision).toMatchObject({ kind: "undo", undoes: 2, resolution: null });
    const reverted = play(seedUniverse(), [{ actor: KELL, command: { kind: "undo", targetPosition: 2 } }], {
      from: played,
    });
    expect(reverted.state.characters.kell!.fatePoints).toBe(3);
    expect(readFact(reverted.state, "aspect-1-1")).toBeDefined();
  });

  it("there is nothing to undo in an undone turn or in an undo", () => {
    const played = play(seedUniverse(), [
      ...opening,
      { actor: MARA, command: { kind: "undo", targetPosition: 1 } },
    ]);
    expect(undo(played, 1, MARA)).toMatchObject({ code: "nothing_to_undo" });
    expect(undo(played, 4, MARA)).toMatchObject({ code: "nothing_to_undo" });
    expect(undo(played, 4, GM)).toMatchObject({ code: "nothing_to_undo" });
  });

  it("a player may undo only their own turns", () => {
    const played = play(seedUniverse(), opening);
    expect(undo(played, 2, MARA)).toMatchObject({ code: "not_allowed" });
    expect(undo(played, 3, MARA)).toMatchObject({ code: "not_allowed" });
  });

  it("a player may undo an older turn when later turns touched other paths", () => {
    const played = play(seedUniverse(), opening);
    expect(isRejection(undo(played, 1, MARA))).toBe(false);
  });

  it("a player may not undo a turn when a later turn touched an overlapping path", () => {
    // Kell invokes Mara's new aspect for free: his turn spends a free invoke on it.
    const played = play(seedUniverse(), [
      opening[0]!,
      as(
        KELL,
        {
          kind: "action",
          characterId: "kell",
          action: "overcome",
          skill: "Athletics",
          opposition: 0,
          invokes: [{ aspect: "aspect-1-1", effect: "bonus", payment: "free_invoke" }],
        },
        [0, 0, 0, 0],
      ),
    ]);
    expect(undo(played, 1, MARA)).toMatchObject({
      code: "undo_conflict",
      details: { conflictingPosition: 2 },
    });
  });

  it("a game master may undo the latest applied turn, but not an older one that later turns overlap", () => {
    const played = play(seedUniverse(), [
      opening[0]!,
      as(
        KELL,
        {
          kind: "action",
          characterId: "kell",
          action: "overcome",
          skill: "Athletics",
          opposition: 0,
          invokes: [{ aspect: "aspect-1-1", effect: "bonus", payment: "free_invoke" }],
        },
        [0, 0, 0, 0],
      ),
    ]);
    expect(isRejection(undo(played, 2, GM))).toBe(false);
    expect(undo(played, 1, GM)).toMatchObject({ code: "undo_conflict" });
  });

  it("a later turn that was itself undone no longer stands in the way", () => {
    const played = play(seedUniverse(), [
      opening[0]!,
      as(
        KELL,
        {
          kind: "action",
          characterId: "kell",
          action: "overcome",
          skill: "Athletics",
          opposition: 0,
          invokes: [{ aspect: "aspect-1-1", effect: "bonus", payment: "free_invoke" }],
        },
        [0, 0, 0, 0],
      ),
      { actor: KELL, command: { kind: "undo", targetPosition: 2 } },
    ]);
    expect(isRejection(undo(played, 1, MARA))).toBe(false);
    const back = play(seedUniverse(), [{ actor: MARA, command: { kind: "undo", targetPosition: 1 } }], {
      from: played,
    });
    expect(checksum(back.state)).toBe(checksum(seedUniverse()));
  });

  it("session turns are not undone", () => {
    const played = play(seedUniverse(), [
      { actor: MARA, command: { kind: "session_start", characterId: "mara" } },
    ]);
    expect(undo(played, 1, MARA)).toMatchObject({ code: "not_allowed" });
  });

  it("through decide, an undo finds its target on ctx.timeline", () => {
    const played = play(seedUniverse(), opening);
    const ctx = { position: 4, now: "2026-01-01T18:00:00.000Z", random: scriptedDice(), actor: MARA };
    expect(
      decide(played.state, { kind: "undo", targetPosition: 1 }, { ...ctx, timeline: played.turns }),
    ).toMatchObject({ kind: "undo", undoes: 1 });
    expect(decide(played.state, { kind: "undo", targetPosition: 1 }, ctx)).toMatchObject({
      code: "nothing_to_undo",
    });
  });

  it("the default target is the GM's latest applied turn, or the player's own latest", () => {
    const played = play(seedUniverse(), [
      ...opening,
      { actor: GM, command: { kind: "undo", targetPosition: 3 } },
    ]);
    expect(defaultUndoTarget(played.turns, GM)).toBe(2);
    expect(defaultUndoTarget(played.turns, MARA)).toBe(1);
    expect(defaultUndoTarget(played.turns, player("player-3"))).toBeNull();
    // a player's undo takes back the last thing they did, once: then there is nothing of theirs
    const taken = play(seedUniverse(), [
      ...opening,
      { actor: GM, command: { kind: "undo", targetPosition: 3 } },
      { actor: MARA, command: { kind: "undo", targetPosition: 1 } },
    ]);
    expect(defaultUndoTarget(taken.turns, MARA)).toBeNull();
    expect(defaultUndoTarget(taken.turns, GM)).toBe(2);
  });
});

describe("a roll stands for a player", () => {
  // Mara rolls (turn 1), Kell rolls with a fate point (2), the GM posts (3), Mara speaks (4)
  const played = play(seedUniverse(), [
    ...opening,
    as(MARA, { kind: "custom", characterId: "mara", text: "I wave to the boats" }),
  ]);
  const turn = (position: number) => played.turns[position - 1]!;

  it("a turn rolled the dice when it records a resolution", () => {
    expect([1, 2, 3, 4].map((position) => rolledDice(turn(position)))).toEqual([true, true, false, false]);
  });

  it("given Kell's roll, when he undoes it, then he is refused and told to ask the game master", () => {
    expect(undoRefusal(KELL, turn(2))).toMatchObject({
      code: "not_allowed",
      message: "turn 2 rolled the dice: a roll stands; ask your game master to undo it",
    });
  });

  it("given Kell's roll, when the game master undoes it, then nothing refuses it", () => {
    expect(undoRefusal(GM, turn(2))).toBeNull();
    expect(isRejection(undo(played, 2, GM))).toBe(false);
  });

  it("given Mara's words, which rolled nothing, when she undoes them, then nothing refuses it", () => {
    expect(undoRefusal(MARA, turn(4))).toBeNull();
    expect(isRejection(undo(played, 4, MARA))).toBe(false);
  });
});

describe("path overlap", () => {
  const set = (path: string) => ({ op: "set" as const, path, value: 1 });

  it("overlaps on the same path and on prefixes either way, not on siblings", () => {
    expect(overlaps(["/a/b"], [set("/a/b")])).toBe(true);
    expect(overlaps(["/a/b"], [set("/a/b/c")])).toBe(true);
    expect(overlaps(["/a/b/c"], [set("/a")])).toBe(true);
    expect(overlaps(["/a/b"], [set("/a/bc")])).toBe(false);
    expect(overlaps(["/a/b"], [set("/a/c")])).toBe(false);
  });

  it("treats array inserts and removals as touching the whole array", () => {
    expect(overlaps(["/log"], [{ op: "push", path: "/log/3", value: 1 }])).toBe(true);
    expect(overlaps(["/log/2"], [{ op: "remove", path: "/log/0", prev: 1 }])).toBe(true);
  });
});

describe("turns that stand for good", () => {
  // Mara pauses her run (turn 1), resumes it (2), Wren enters the story (3), Mara speaks (4)
  const pause = (paused: boolean): Step => ({
    actor: MARA,
    command: { kind: "run_pause", characterId: "mara", runId: "run-mara", paused },
  });
  const played = play(seedUniverse(), [
    pause(true),
    pause(false),
    {
      actor: SYSTEM,
      command: { kind: "add_character", character: sampleCharacter("wren", "player-9", "Wren") },
    },
    as(MARA, { kind: "custom", characterId: "mara", text: "I wave to the boats" }),
  ]);
  const turn = (position: number) => played.turns[position - 1]!;

  it("given a pause, a resume and an arrival, when anyone undoes one as it is submitted, then it is refused with what to do instead", () => {
    for (const actor of [MARA, GM]) {
      expect(undoRefusal(actor, turn(1))).toMatchObject({
        code: "not_allowed",
        message: "turn 1 pauses a run and cannot be undone: resume the run instead",
      });
      expect(undoRefusal(actor, turn(2))).toMatchObject({
        code: "not_allowed",
        message: "turn 2 resumes a run and cannot be undone: pause the run instead",
      });
    }
    expect(undoRefusal(GM, turn(3))?.message).toMatch(/^turn 3 brings a character into the story/);
    expect(undoRefusal(MARA, turn(4))).toBeNull();
  });

  it("given an undo of one recorded before the check, when it is decided again, then the rules still take it", () => {
    expect(isRejection(undo(played, 1, MARA))).toBe(false);
    expect(isRejection(undo(played, 3, GM))).toBe(false);
  });

  it("given them latest, when an undo names no turn, then it passes over them to the turn before", () => {
    const withoutWords = played.turns.slice(0, 3);
    expect(defaultUndoTarget(withoutWords, GM)).toBeNull();
    expect(defaultUndoTarget(withoutWords, MARA)).toBeNull();
    expect(defaultUndoTarget(played.turns, GM)).toBe(4);
  });
});
