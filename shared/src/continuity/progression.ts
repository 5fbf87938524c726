import { z } from "zod";
import type { RunState } from "./run-lifecycle.ts";

/**
 * Meta-progression: what a player carries from run to run. Only completed runs that were played
 * credit it (`earnsCredit`), each exactly once; undoing the turn that completed a run revokes that
 * credit. Every function returns a new record (or the same one, unchanged) and never mutates its
 * input.
 */

const THRESHOLDS = ["runsCompleted", "turnsInCompletedRuns", "milestones", "metaconcepts"] as const;

/** A threshold rule: the unlock holds while every threshold it names is met (at least). */
export const unlockRuleSchema = z
  .object({
    id: z.string().min(1),
    /** What a player reads ("multi-path stories"); the id with spaces when absent. */
    name: z.string().min(1).optional(),
    runsCompleted: z.number().int().min(0).optional(),
    turnsInCompletedRuns: z.number().int().min(0).optional(),
    milestones: z.number().int().min(0).optional(),
    /** How many distinct metaconcepts have been integrated. */
    metaconcepts: z.number().int().min(0).optional(),
  })
  .refine(
    (rule) => THRESHOLDS.some((name) => rule[name] !== undefined),
    "an unlock rule names at least one threshold",
  );
export type UnlockRule = z.infer<typeof unlockRuleSchema>;

export const DEFAULT_UNLOCK_RULES: readonly UnlockRule[] = [
  { id: "advanced_narratives", name: "advanced narratives", runsCompleted: 2 },
  { id: "complex_characters", name: "complex characters", runsCompleted: 3 },
  { id: "multi_path_stories", name: "multi-path stories", turnsInCompletedRuns: 300 },
];

/** A therapeutic milestone every this many turns of a run. */
export const DEFAULT_MILESTONE_EVERY = 20;

/** The parts of a player's progression record these rules read and write. */
export interface Progression {
  runsCompleted: number;
  turnsInCompletedRuns: number;
  milestones: number;
  metaconcepts: string[];
  completedRunIds: string[];
  unlocks: string[];
  updatedAt: string;
}

/** The parts of a run record crediting reads. */
export interface CreditableRun {
  id: string;
  state: RunState;
  turnCount: number;
  /** Metaconcepts the run integrated; when absent, its therapeutic focus (if any) is the one. */
  metaconcepts?: readonly string[];
  therapeuticFocus?: string | null;
}

export interface ProgressionOptions {
  rules?: readonly UnlockRule[];
  milestoneEvery?: number;
  /** ISO time written to `updatedAt` when anything changes. */
  now: string;
}

export interface RevokeOptions extends ProgressionOptions {
  /**
   * The player's completed runs (the revoked one may be included; it is skipped). The revoked
   * run's metaconcepts are removed, except, when these are given, those another still-credited
   * run among them also brought. Without them a concept two runs share is removed too: the record
   * keeps a set, not who contributed what, so only the runs can tell. Concepts the revoked run
   * did not bring are never touched.
   */
  completedRuns?: readonly CreditableRun[];
}

export function milestonesFor(turnCount: number, every: number = DEFAULT_MILESTONE_EVERY): number {
  if (!(every > 0) || !(turnCount > 0)) return 0;
  return Math.floor(turnCount / every);
}

export function metaconceptsOf(run: CreditableRun): readonly string[] {
  if (run.metaconcepts !== undefined) return run.metaconcepts;
  return run.therapeuticFocus ? [run.therapeuticFocus] : [];
}

function union(into: readonly string[], more: readonly string[]): string[] {
  const seen = new Set(into);
  const result = [...into];
  for (const item of more) {
    if (seen.has(item)) continue;
    seen.add(item);
    result.push(item);
  }
  return result;
}

type Threshold = (typeof THRESHOLDS)[number];

function counts(progression: Progression): Record<Threshold, number> {
  return {
    runsCompleted: progression.runsCompleted,
    turnsInCompletedRuns: progression.turnsInCompletedRuns,
    milestones: progression.milestones,
    metaconcepts: progression.metaconcepts.length,
  };
}

function meets(progression: Progression, rule: UnlockRule): boolean {
  const have = counts(progression);
  return THRESHOLDS.every((name) => rule[name] === undefined || have[name] >= rule[name]);
}

/** What a threshold counts, as a player reads it: "2 completed runs". */
const COUNTED: Record<Threshold, [string, string]> = {
  runsCompleted: ["completed run", "completed runs"],
  turnsInCompletedRuns: ["turn in completed runs", "turns in completed runs"],
  milestones: ["milestone", "milestones"],
  metaconcepts: ["metaconcept integrated", "metaconcepts integrated"],
};

/**
 * The unlocks not yet earned, each with what it still needs, in rule order: "advanced narratives:
 * 2 completed runs (1 more)". What a player reads to know what their next runs lead to.
 */
export function unlocksAhead(
  progression: Progression,
  rules: readonly UnlockRule[] = DEFAULT_UNLOCK_RULES,
): Array<{ id: string; needs: string }> {
  const have = counts(progression);
  return rules
    .filter((rule) => !meets(progression, rule))
    .map((rule) => ({
      id: rule.id,
      needs: THRESHOLDS.flatMap((name) => {
        const need = rule[name];
        if (need === undefined || have[name] >= need) return [];
        const [one, many] = COUNTED[name];
        return [`${need} ${need === 1 ? one : many} (${need - have[name]} more)`];
      }).join(" and "),
    }));
}

/** "multi-path stories": an unlock as a player reads it, by its rule's name or else its id. */
export function unlockName(id: string, rules: readonly UnlockRule[] = DEFAULT_UNLOCK_RULES): string {
  return rules.find((rule) => rule.id === id)?.name ?? id.replaceAll("_", " ");
}

/** The ids of the rules the progression meets, in rule order. */
export function unlocksFor(
  progression: Progression,
  rules: readonly UnlockRule[] = DEFAULT_UNLOCK_RULES,
): string[] {
  return rules.filter((rule) => meets(progression, rule)).map((rule) => rule.id);
}

/** Unlocks the rules govern are recomputed; any other unlock (granted elsewhere) is kept after them. */
function withUnlocks<P extends Progression>(progression: P, rules: readonly UnlockRule[]): P {
  const governed = new Set(rules.map((rule) => rule.id));
  const unlocks = union(
    unlocksFor(progression, rules),
    progression.unlocks.filter((id) => !governed.has(id)),
  );
  return { ...progression, unlocks };
}

/**
 * The played turns a completed run needs before it credits anything. A run's `turnCount` counts
 * only its player's own actions, choices, custom and combat turns (`PLAYED_KINDS`) that still
 * stand: not the join that seats the character, session markers, pauses, the completion itself,
 * or a turn since undone. Without this, creating a character and completing its run at once, over
 * and over, would earn runs, unlocks and (a new therapeutic focus each time) metaconcepts without
 * any play.
 */
export const PLAYED_TURNS_TO_CREDIT = 1;

/**
 * Whether a run's completion credits its player's progression: completed, and played. A played
 * turn undone (or played) after the completion changes the tally, and the projection then takes
 * the credit back and asks again.
 */
export function earnsCredit(run: Pick<CreditableRun, "state" | "turnCount">): boolean {
  return run.state === "completed" && run.turnCount >= PLAYED_TURNS_TO_CREDIT;
}

/**
 * Credits a completed run: one more run, its turns, its milestones (from its turn count, so a
 * change of `milestoneEvery` applies to every later credit alike), its metaconcepts, and the
 * unlocks that follow. A run that does not earn credit (not completed, or never played), or whose
 * id is already credited, changes nothing: the same progression object comes back.
 */
export function creditCompletedRun<P extends Progression>(
  progression: P,
  run: CreditableRun,
  options: ProgressionOptions,
): P {
  if (!earnsCredit(run) || progression.completedRunIds.includes(run.id)) return progression;
  const credited: P = {
    ...progression,
    runsCompleted: progression.runsCompleted + 1,
    turnsInCompletedRuns: progression.turnsInCompletedRuns + run.turnCount,
    milestones: progression.milestones + milestonesFor(run.turnCount, options.milestoneEvery),
    metaconcepts: union(progression.metaconcepts, metaconceptsOf(run)),
    completedRunIds: [...progression.completedRunIds, run.id],
    updatedAt: options.now,
  };
  return withUnlocks(credited, options.rules ?? DEFAULT_UNLOCK_RULES);
}

/**
 * Reverses `creditCompletedRun` for a run (undoing the turn that completed it). Pass the run as it
 * was credited: its turn count decides what is taken back. A run not credited changes nothing.
 * Whatever state the run is in now is irrelevant: undo may already have reopened it.
 */
export function revokeCompletedRun<P extends Progression>(
  progression: P,
  run: CreditableRun,
  options: RevokeOptions,
): P {
  if (!progression.completedRunIds.includes(run.id)) return progression;
  const completedRunIds = progression.completedRunIds.filter((id) => id !== run.id);
  const revoked: P = {
    ...progression,
    runsCompleted: Math.max(0, progression.runsCompleted - 1),
    turnsInCompletedRuns: Math.max(0, progression.turnsInCompletedRuns - run.turnCount),
    milestones: Math.max(0, progression.milestones - milestonesFor(run.turnCount, options.milestoneEvery)),
    metaconcepts: metaconceptsAfterRevoke(progression, run, completedRunIds, options.completedRuns),
    completedRunIds,
    updatedAt: options.now,
  };
  return withUnlocks(revoked, options.rules ?? DEFAULT_UNLOCK_RULES);
}

function metaconceptsAfterRevoke(
  progression: Progression,
  run: CreditableRun,
  remainingIds: readonly string[],
  completedRuns: readonly CreditableRun[] | undefined,
): string[] {
  const gone = new Set(metaconceptsOf(run));
  if (completedRuns !== undefined) {
    // A concept another still-credited run brought stays integrated.
    const remaining = new Set(remainingIds);
    for (const other of completedRuns) {
      if (other.id === run.id || !remaining.has(other.id)) continue;
      for (const concept of metaconceptsOf(other)) gone.delete(concept);
    }
  }
  return progression.metaconcepts.filter((concept) => !gone.has(concept));
}
