import { describe, expect, it } from "vitest";
import { createRandom } from "../dice.ts";
import type { Turn } from "../turn.ts";
import {
  freshTally,
  progressionFrom,
  projectTimeline,
  sessionEndedAt,
  sessionEndedThrough,
} from "./projection.ts";

const UNIVERSE = "u1";
const PLAYER = "p1";
const runOf = (id: string, therapeuticFocus: string | null = null) => ({
  id,
  playerId: PLAYER,
  universeId: UNIVERSE,
  therapeuticFocus,
});

/** A timeline built in order: each step is a turn's kind, run and input. */
function timeline(steps: Array<Partial<Turn> & Pick<Turn, "kind">>): Turn[] {
  return steps.map((step, i) => ({
    universeId: UNIVERSE,
    position: i + 1,
    id: `t${i + 1}`,
    runId: null,
    characterId: null,
    playerId: PLAYER,
    actor: "player",
    input: { kind: step.kind },
    resolution: null,
    events: [],
    deltas: [],
    status: "applied",
    narration: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i + 1)).toISOString(),
    ...step,
  }));
}

const join = (runId: string) => ({ kind: "system" as const, runId, input: { kind: "join" } });
const opens = (runId: string) => ({ kind: "session_start" as const, runId });
const closes = (runId: string) => ({ kind: "session_end" as const, runId, input: { kind: "session_end" } });
const acts = (runId: string) => ({
  kind: "custom" as const,
  runId,
  input: { kind: "custom", text: "wades on" },
});
const completes = (runId: string) => ({
  kind: "system" as const,
  runId,
  input: { kind: "run_end", runId, outcome: "completed", reason: "victory" },
});
const undoes = (targetPosition: number) => ({
  kind: "undo" as const,
  actor: "gm" as const,
  input: { kind: "undo", targetPosition },
});

describe("projecting completions into progression", () => {
  it("given runs joined and completed without a played turn, when projected, then they are completed and credit nothing", () => {
    const runs = [runOf("r1", "grief"), runOf("r2", "trust"), runOf("r3", "calm")];
    const turns = timeline(runs.flatMap(({ id }) => [join(id), opens(id), closes(id), completes(id)]));
    const projected = projectTimeline(runs, turns);
    for (const { id } of runs)
      expect(projected.runs.get(id)).toMatchObject({ state: "completed", turnCount: 0, sessionCount: 1 });
    expect(projected.credits).toEqual([]);
    expect(progressionFrom(projected.credits, PLAYER)).toMatchObject({
      runsCompleted: 0,
      metaconcepts: [],
      completedRunIds: [],
      unlocks: [],
    });
  });

  it("given a run played over several sessions, when completed, then it credits once with every played turn", () => {
    const turns = timeline([
      join("r1"),
      opens("r1"),
      acts("r1"),
      closes("r1"),
      opens("r1"),
      acts("r1"),
      acts("r1"),
      closes("r1"),
      completes("r1"),
    ]);
    const projected = projectTimeline([runOf("r1", "grief")], turns);
    expect(projected.credits).toHaveLength(1);
    expect(progressionFrom(projected.credits, PLAYER)).toMatchObject({
      runsCompleted: 1,
      turnsInCompletedRuns: 3,
      metaconcepts: ["grief"],
      completedRunIds: ["r1"],
    });
  });

  it("given a run whose only played turn was undone, when completed, then it credits nothing", () => {
    const turns = timeline([join("r1"), acts("r1"), undoes(2), completes("r1")]);
    const projected = projectTimeline([runOf("r1")], turns);
    expect(projected.runs.get("r1")).toMatchObject({ state: "completed", turnCount: 0 });
    expect(progressionFrom(projected.credits, PLAYER).runsCompleted).toBe(0);
  });

  it("given an unplayed run's completion undone, when played and completed again, then it credits then", () => {
    const turns = timeline([join("r1"), completes("r1"), undoes(2), acts("r1"), completes("r1")]);
    const projected = projectTimeline([runOf("r1")], turns);
    expect(projected.runs.get("r1")).toMatchObject({
      state: "completed",
      turnCount: 1,
      completedAtPosition: 5,
    });
    expect(progressionFrom(projected.credits, PLAYER)).toMatchObject({
      runsCompleted: 1,
      turnsInCompletedRuns: 1,
      completedRunIds: ["r1"],
    });
  });
});

describe("undoing the play of a completed run", () => {
  const standing = (turns: readonly Turn[]): Turn[] => {
    const undone = new Set(
      turns.flatMap((turn) => (turn.kind === "undo" ? [turn.input.targetPosition] : [])),
    );
    return turns.filter((turn) => turn.kind !== "undo" && !undone.has(turn.position));
  };

  it("given a run played once and completed, when the play then the completion is undone, then it has no turn and no credit", () => {
    const turns = timeline([join("r1"), acts("r1"), completes("r1"), undoes(2), undoes(3)]);
    const projected = projectTimeline([runOf("r1", "grief")], turns);
    expect(projected.runs.get("r1")).toMatchObject({
      state: "active",
      turnCount: 0,
      completedAtPosition: null,
    });
    expect(progressionFrom(projected.credits, PLAYER)).toMatchObject({
      runsCompleted: 0,
      turnsInCompletedRuns: 0,
      metaconcepts: [],
      completedRunIds: [],
    });
  });

  it("given that run, when it is completed again, then it credits nothing", () => {
    const turns = timeline([join("r1"), acts("r1"), completes("r1"), undoes(2), undoes(3), completes("r1")]);
    const projected = projectTimeline([runOf("r1")], turns);
    expect(projected.runs.get("r1")).toMatchObject({ state: "completed", turnCount: 0 });
    expect(progressionFrom(projected.credits, PLAYER).runsCompleted).toBe(0);
  });

  it("given a run played twice and completed, when one play is undone, then the credit keeps the play that stands", () => {
    const turns = timeline([join("r1"), acts("r1"), acts("r1"), completes("r1"), undoes(2)]);
    const projected = projectTimeline([runOf("r1", "grief")], turns);
    expect(projected.runs.get("r1")).toMatchObject({ state: "completed", turnCount: 1 });
    expect(progressionFrom(projected.credits, PLAYER)).toMatchObject({
      runsCompleted: 1,
      turnsInCompletedRuns: 1,
      metaconcepts: ["grief"],
      completedRunIds: ["r1"],
    });
  });

  it("given random plays, completions and undos in any order, when projected, then the records are those of the turns that stand", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = createRandom(seed);
      const steps: Array<Partial<Turn> & Pick<Turn, "kind">> = [join("r1")];
      const undone = new Set<number>();
      let completedAt: number | null = null;
      for (let i = 0; i < 12; i++) {
        const position = steps.length + 1;
        const choice = random.int(0, 2);
        const undoable = steps
          .map((step, at) => ({ step, position: at + 1 }))
          .filter(({ step, position }) => step.kind === "custom" && !undone.has(position));
        if (choice === 0 && completedAt === null) {
          steps.push(completes("r1"));
          completedAt = position;
        } else if (choice === 1 && completedAt !== null && random.int(0, 1) === 0) {
          steps.push(undoes(completedAt));
          undone.add(completedAt);
          completedAt = null;
        } else if (choice === 1 && undoable.length > 0) {
          const target = undoable[random.int(0, undoable.length - 1)]!.position;
          steps.push(undoes(target));
          undone.add(target);
        } else {
          steps.push(acts("r1"));
        }
      }
      const turns = timeline(steps);
      const projected = projectTimeline([runOf("r1", "grief")], turns);
      const replayed = projectTimeline([runOf("r1", "grief")], standing(turns));
      const fresh = freshTally(runOf("r1", "grief"));
      const { state, turnCount, milestones, completedAtPosition } = replayed.runs.get("r1") ?? fresh;
      expect(projected.runs.get("r1") ?? fresh, `seed ${seed}`).toMatchObject({
        state,
        turnCount,
        milestones,
        completedAtPosition,
      });
      const { updatedAt: _at, ...progression } = progressionFrom(replayed.credits, PLAYER);
      expect(progressionFrom(projected.credits, PLAYER), `seed ${seed}`).toMatchObject(progression);
    }
  });
});

describe("when a session ended", () => {
  const stoppedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, 2)).toISOString();
  const interrupted = (input: Record<string, unknown>) => ({
    kind: "session_end" as const,
    runId: "r1",
    actor: "system" as const,
    input: { kind: "session_end", reason: "interrupted", ...input },
  });

  it("given a session cut short, when its end is projected, then it ended when its play stopped, not when it was closed", () => {
    const turns = timeline([opens("r1"), acts("r1"), interrupted({ endedAt: stoppedAt })]);
    expect(sessionEndedAt(turns[2]!)).toBe(stoppedAt);
    expect(projectTimeline([runOf("r1")], turns).sessions.at(-1)).toMatchObject({
      kind: "close",
      reason: "interrupted",
      endedAt: stoppedAt,
    });
  });

  it("given a session left, or an end claimed after its own turn, then it ended when its turn was made", () => {
    const later = new Date(Date.UTC(2026, 0, 2)).toISOString();
    const turns = timeline([opens("r1"), closes("r1"), interrupted({ endedAt: later }), interrupted({})]);
    for (const turn of turns.slice(1)) expect(sessionEndedAt(turn)).toBe(turn.createdAt);
  });

  it("given a player who dropped and did not come back, then her session ended where and when she dropped", () => {
    const dropped = { kind: "session_end" as const, runId: "r1", input: { kind: "session_end" } };
    const turns = timeline([
      opens("r1"),
      acts("r1"),
      { kind: "world_event" },
      { ...dropped, input: { ...dropped.input, through: 2, endedAt: stoppedAt } },
    ]);
    expect(sessionEndedThrough(turns[3]!)).toBe(2);
    expect(sessionEndedAt(turns[3]!)).toBe(stoppedAt);
  });

  it("given an end that names no drop, or one at or after itself, then it ended at its own position", () => {
    const turns = timeline([opens("r1"), closes("r1"), closes("r1")]);
    expect(sessionEndedThrough(turns[1]!)).toBe(2);
    expect(sessionEndedThrough({ ...turns[2]!, input: { kind: "session_end", through: 3 } })).toBe(3);
    expect(sessionEndedThrough({ ...turns[2]!, input: { kind: "session_end", through: 7 } })).toBe(3);
  });
});
