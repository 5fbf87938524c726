import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  creditCompletedRun,
  DEFAULT_UNLOCK_RULES,
  earnsCredit,
  milestonesFor,
  PLAYED_TURNS_TO_CREDIT,
  revokeCompletedRun,
  unlockRuleSchema,
  unlockName,
  unlocksAhead,
  unlocksFor,
  type CreditableRun,
  type Progression,
  type UnlockRule,
} from "./progression.ts";

const NOW = "2025-11-09T10:05:30.000Z";
const LATER = "2025-11-10T09:00:00.000Z";

function fresh(): Progression & { playerId: string } {
  return {
    playerId: "player_001",
    runsCompleted: 0,
    turnsInCompletedRuns: 0,
    milestones: 0,
    metaconcepts: [],
    completedRunIds: [],
    unlocks: [],
    updatedAt: "2025-11-09T10:00:00.000Z",
  };
}

const concepts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_${i + 1}`);
const alex: CreditableRun = {
  id: "run_alex_001",
  state: "completed",
  turnCount: 150,
  metaconcepts: concepts("anxiety", 7),
};
const jordan: CreditableRun = {
  id: "run_jordan_001",
  state: "abandoned",
  turnCount: 40,
  metaconcepts: ["jordan_1"],
};
const sam: CreditableRun = {
  id: "run_sam_001",
  state: "completed",
  turnCount: 120,
  therapeuticFocus: "grief",
};

describe("milestonesFor", () => {
  it("counts a milestone every N turns of a run", () => {
    expect([milestonesFor(150), milestonesFor(120), milestonesFor(40), milestonesFor(19)]).toEqual([
      7, 6, 2, 0,
    ]);
    expect(milestonesFor(150, 50)).toBe(3);
    expect(milestonesFor(150, 0)).toBe(0);
  });
});

describe("creditCompletedRun", () => {
  it("given the seed campaign (Alex completed, Jordan abandoned, Sam completed), when credited in order, then the numbers match", () => {
    let progression = fresh();
    for (const run of [alex, jordan, sam]) progression = creditCompletedRun(progression, run, { now: NOW });
    expect(progression).toEqual({
      playerId: "player_001",
      runsCompleted: 2,
      turnsInCompletedRuns: 270,
      milestones: 13,
      metaconcepts: [...concepts("anxiety", 7), "grief"],
      completedRunIds: ["run_alex_001", "run_sam_001"],
      unlocks: ["advanced_narratives"],
      updatedAt: NOW,
    });
    expect(unlocksFor(progression)).not.toContain("complex_characters");
    expect(unlocksFor(progression)).not.toContain("multi_path_stories");
  });

  it("given a run already credited, when credited again, then nothing changes", () => {
    const once = creditCompletedRun(fresh(), alex, { now: NOW });
    expect(creditCompletedRun(once, alex, { now: LATER })).toBe(once);
  });

  it("given runs that are not completed, when credited, then the progression comes back unchanged", () => {
    const start = fresh();
    for (const state of ["abandoned", "active", "paused"] as const) {
      expect(creditCompletedRun(start, { ...alex, state }, { now: NOW })).toBe(start);
    }
  });

  it("given completed runs nobody played, each with its own focus, when credited, then nothing is earned", () => {
    let progression = fresh();
    for (const [i, focus] of ["grief", "trust", "calm", "hope"].entries()) {
      const unplayed: CreditableRun = {
        id: `farm-${i}`,
        state: "completed",
        turnCount: 0,
        therapeuticFocus: focus,
      };
      expect(earnsCredit(unplayed)).toBe(false);
      const next = creditCompletedRun(progression, unplayed, { now: NOW });
      expect(next).toBe(progression);
      progression = next;
    }
    expect(progression).toEqual(fresh());
    expect(unlocksFor(progression)).toEqual([]);
  });

  it("given a completed run with a single played turn, when credited, then it counts", () => {
    const played: CreditableRun = {
      id: "played",
      state: "completed",
      turnCount: PLAYED_TURNS_TO_CREDIT,
      therapeuticFocus: "grief",
    };
    expect(earnsCredit(played)).toBe(true);
    expect(creditCompletedRun(fresh(), played, { now: NOW })).toMatchObject({
      runsCompleted: 1,
      turnsInCompletedRuns: PLAYED_TURNS_TO_CREDIT,
      metaconcepts: ["grief"],
      completedRunIds: ["played"],
    });
  });

  it("given an uncredited run, when its completion is revoked, then nothing changes", () => {
    const credited = creditCompletedRun(fresh(), alex, { now: NOW });
    const unplayed: CreditableRun = {
      id: "farm",
      state: "completed",
      turnCount: 0,
      therapeuticFocus: "calm",
    };
    expect(revokeCompletedRun(credited, unplayed, { now: LATER, completedRuns: [alex, unplayed] })).toBe(
      credited,
    );
  });

  it("given custom rules with several thresholds, when credited, then an unlock needs all of them", () => {
    const rules: UnlockRule[] = [
      { id: "veteran", runsCompleted: 1, milestones: 10 },
      { id: "seasoned", turnsInCompletedRuns: 100 },
    ];
    const afterSam = creditCompletedRun(fresh(), sam, { rules, now: NOW });
    expect(afterSam.unlocks).toEqual(["seasoned"]);
    const fineGrained = creditCompletedRun(fresh(), sam, { rules, milestoneEvery: 10, now: NOW });
    expect(fineGrained.milestones).toBe(12);
    expect(fineGrained.unlocks).toEqual(["veteran", "seasoned"]);
  });

  it("given an unlock granted outside the rules, when credited, then it is kept", () => {
    const gifted = { ...fresh(), unlocks: ["founder_badge"] };
    expect(
      creditCompletedRun(gifted, alex, { rules: [{ id: "first", runsCompleted: 1 }], now: NOW }).unlocks,
    ).toEqual(["first", "founder_badge"]);
  });

  it("given a rule without any threshold, when validated, then it is refused", () => {
    expect(unlockRuleSchema.safeParse({ id: "free" }).success).toBe(false);
    expect(DEFAULT_UNLOCK_RULES.every((rule) => unlockRuleSchema.safeParse(rule).success)).toBe(true);
  });
});

describe("revokeCompletedRun", () => {
  it("given Sam's credit, when revoked, then the progression is as after Alex alone, and unlocks follow", () => {
    const afterAlex = creditCompletedRun(fresh(), alex, { now: NOW });
    const afterSam = creditCompletedRun(afterAlex, sam, { now: NOW });
    const revoked = revokeCompletedRun(afterSam, sam, { now: LATER });
    expect(revoked).toEqual({ ...afterAlex, updatedAt: LATER });
    expect(revoked.unlocks).toEqual([]);
    expect(revokeCompletedRun(revoked, sam, { now: LATER })).toBe(revoked);
  });

  it("given a metaconcept two runs share, when one is revoked with the completed runs known, then the concept stays", () => {
    const a: CreditableRun = {
      id: "a",
      state: "completed",
      turnCount: 20,
      metaconcepts: ["courage", "trust"],
    };
    const b: CreditableRun = { id: "b", state: "completed", turnCount: 20, metaconcepts: ["trust", "grief"] };
    const both = creditCompletedRun(creditCompletedRun(fresh(), a, { now: NOW }), b, { now: NOW });
    expect(both.metaconcepts).toEqual(["courage", "trust", "grief"]);
    expect(revokeCompletedRun(both, b, { now: NOW, completedRuns: [a, b] }).metaconcepts).toEqual([
      "courage",
      "trust",
    ]);
    expect(revokeCompletedRun(both, b, { now: NOW }).metaconcepts).toEqual(["courage"]);
  });
});

const runArbitrary = (id: string) =>
  fc.record({
    id: fc.constant(id),
    state: fc.constant("completed" as const),
    turnCount: fc.nat({ max: 2_000 }),
    metaconcepts: fc.uniqueArray(
      fc.constantFrom("courage", "trust", "grief", "calm", "hope", "anger", "play"),
      { maxLength: 4 },
    ),
  });

describe("credit then revoke (property)", () => {
  it("returns the original progression, whatever runs came before, with the completed runs known", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 6 })
          .chain((n) =>
            fc.tuple(
              fc.tuple(...Array.from({ length: n }, (_, i) => runArbitrary(`prior-${i}`))),
              runArbitrary("new"),
            ),
          ),
        fc.integer({ min: 1, max: 40 }),
        ([priors, run], every) => {
          const options = { milestoneEvery: every, now: NOW };
          const original = priors.reduce(
            (p: Progression, prior) => creditCompletedRun(p, prior, options),
            fresh(),
          );
          const credited = creditCompletedRun(original, run, { ...options, now: LATER });
          const revoked = revokeCompletedRun(credited, run, {
            ...options,
            now: LATER,
            completedRuns: [...priors, run],
          });
          expect({ ...revoked, updatedAt: original.updatedAt }).toEqual(original);
        },
      ),
      { seed: 20251109, numRuns: 300 },
    );
  });

  it("returns the original progression without the completed runs when the run brought only new concepts", () => {
    fc.assert(
      fc.property(runArbitrary("prior"), runArbitrary("new"), (prior, run) => {
        const original = creditCompletedRun(fresh(), prior, { now: NOW });
        const own = { ...run, metaconcepts: run.metaconcepts.map((concept) => `new_${concept}`) };
        const revoked = revokeCompletedRun(creditCompletedRun(original, own, { now: LATER }), own, {
          now: LATER,
        });
        expect({ ...revoked, updatedAt: original.updatedAt }).toEqual(original);
      }),
      { seed: 20251110, numRuns: 200 },
    );
  });
});

describe("unlocksAhead", () => {
  const progression = (runsCompleted: number, turnsInCompletedRuns: number) => ({
    runsCompleted,
    turnsInCompletedRuns,
    milestones: 0,
    metaconcepts: [],
    completedRunIds: [],
    unlocks: [],
    updatedAt: "2026-12-06T00:00:00.000Z",
  });

  it("says what each unlock not yet earned still needs, in rule order", () => {
    expect(unlocksAhead(progression(1, 40))).toEqual([
      { id: "advanced_narratives", needs: "2 completed runs (1 more)" },
      { id: "complex_characters", needs: "3 completed runs (2 more)" },
      { id: "multi_path_stories", needs: "300 turns in completed runs (260 more)" },
    ]);
    expect(unlocksAhead(progression(3, 300))).toEqual([]);
  });

  it("names only the thresholds still short of a rule of several", () => {
    const rules = [{ id: "old_hand", runsCompleted: 1, milestones: 1, metaconcepts: 2 }];
    expect(unlocksAhead(progression(1, 0), rules)).toEqual([
      { id: "old_hand", needs: "1 milestone (1 more) and 2 metaconcepts integrated (2 more)" },
    ]);
    expect(unlockName("multi_path_stories")).toBe("multi-path stories");
    expect(unlockName("old_hand", rules)).toBe("old hand");
  });
});
