import type { RunRecord } from "../records.ts";
import type { RunState } from "./run-lifecycle.ts";
import type { Turn, TurnKind } from "../turn.ts";
import {
  creditCompletedRun,
  earnsCredit,
  milestonesFor,
  revokeCompletedRun,
  type Progression,
} from "./progression.ts";

/**
 * Runs and play sessions are projections of the timeline: every field below follows from the
 * turns of the run's universe, in order, and nothing else writes them. The store applies
 * `projectTurns` to each appended batch inside the transaction that writes the batch, so a record
 * changes exactly when (and only if) the turn that changes it is persisted, once per position.
 * Folding a universe's whole timeline from fresh runs gives the same records: that is the check
 * (`projectTimeline`).
 */

/** Turns that count toward a run's length, milestones and progression. */
export const PLAYED_KINDS: ReadonlySet<TurnKind> = new Set(["action", "choice", "custom", "combat"]);

/** The projected part of a run record. */
export type RunTally = Pick<
  RunRecord,
  | "id"
  | "playerId"
  | "universeId"
  | "state"
  | "turnCount"
  | "sessionCount"
  | "milestones"
  | "therapeuticFocus"
  | "completionReason"
  | "completedAtPosition"
  | "lastSessionEndPosition"
>;

export type SessionEndReason = "left" | "interrupted";

export type SessionChange =
  | { kind: "open"; id: string; runId: string; universeId: string; startPosition: number; startedAt: string }
  | {
      kind: "close";
      runId: string;
      endPosition: number;
      summary: string;
      reason: SessionEndReason;
      endedAt: string;
    };

/** A completion credited to its player's progression, or taken back (its turn was undone). */
export interface CreditChange {
  kind: "credit" | "revoke";
  /** The run as it was credited: its turn count decides what is taken back. */
  run: RunTally;
  at: string;
}

export interface Projection {
  /** The runs the turns changed, as they are after them. */
  runs: Map<string, RunTally>;
  sessions: SessionChange[];
  credits: CreditChange[];
}

/** The run a run-lifecycle turn is about (a `run_end` or `run_pause` carries it in its input). */
function lifecycleRunId(turn: Turn): string | null {
  const { kind, runId } = turn.input;
  return (kind === "run_end" || kind === "run_pause") && typeof runId === "string" ? runId : null;
}

/**
 * When the session a `session_end` turn closes ended: an interrupted one when its play stopped,
 * one whose player dropped and did not come back when she dropped (the turn says when), any other
 * when the turn was made.
 */
export function sessionEndedAt(turn: Turn): string {
  const { reason, endedAt } = turn.input;
  const told = reason === "interrupted" || sessionEndedThrough(turn) < turn.position;
  const stopped = told && typeof endedAt === "string" ? Date.parse(endedAt) : NaN;
  return stopped <= Date.parse(turn.createdAt) ? new Date(stopped).toISOString() : turn.createdAt;
}

/**
 * The position at which the session a `session_end` turn closes ended: the universe's head when
 * its player dropped, for one that ended because she did not come back (what came after is news
 * to her next time); its own position otherwise.
 */
export function sessionEndedThrough(turn: Pick<Turn, "position" | "input">): number {
  const { through } = turn.input;
  return typeof through === "number" && Number.isInteger(through) && through >= 0 && through < turn.position
    ? through
    : turn.position;
}

/** The position an undo turn undid. */
export function undoTargetOf(turn: Turn): number | null {
  const target = turn.input.targetPosition;
  return turn.kind === "undo" && typeof target === "number" ? target : null;
}

/**
 * The runs a batch of turns touches, for the store to load (and lock) before projecting: each
 * turn's own run, the run a lifecycle turn names, and the runs of the turns its undos undid.
 */
export function runsTouched(
  turns: readonly Turn[],
  targetOf: (position: number) => Turn | undefined,
): string[] {
  const ids = new Set<string>();
  for (const turn of turns) {
    if (turn.runId) ids.add(turn.runId);
    const named = lifecycleRunId(turn);
    if (named) ids.add(named);
    const position = undoTargetOf(turn);
    const target = position === null ? undefined : targetOf(position);
    if (target?.runId) ids.add(target.runId);
    const targetRun = target ? lifecycleRunId(target) : null;
    if (targetRun) ids.add(targetRun);
  }
  return [...ids];
}

/**
 * The lifecycle state a turn moves its run to, if it is a lifecycle turn or the undo of one:
 * what the universe's single writer applies as it acknowledges turns, so it decides the next
 * lifecycle command against every turn, persisted or not.
 */
export function lifecycleEffect(
  turn: Turn,
  targetOf: (position: number) => Turn | undefined,
): { runId: string; state: RunState } | null {
  const runId = lifecycleRunId(turn);
  if (runId) {
    if (turn.input.kind === "run_pause") return { runId, state: turn.input.paused ? "paused" : "active" };
    return { runId, state: turn.input.outcome === "completed" ? "completed" : "abandoned" };
  }
  const position = undoTargetOf(turn);
  const target = position === null ? undefined : targetOf(position);
  const undoneRun = target ? lifecycleRunId(target) : null;
  // Undoing an ending puts the run back in play; undoing a pause or resume changes nothing.
  if (target && undoneRun && target.input.kind === "run_end") return { runId: undoneRun, state: "active" };
  return null;
}

function withTurns(run: RunTally, turnCount: number): RunTally {
  return { ...run, turnCount, milestones: milestonesFor(turnCount) };
}

/**
 * Applies turns, in timeline order, to the runs they touch. `runs` holds the runs as they are
 * before the turns (a run not in it is not this universe's and is left alone); it is not changed.
 * `targetOf` finds the turn an undo undid (it may be earlier in `turns`).
 *
 * A run's turn count is its played turns that stand, whatever its state when they were played or
 * undone: the undos of a played turn and of a completion may come in either order, and a replay
 * of the turns that stand must give the same count. A completed run's credit follows its count.
 */
export function projectTurns(
  runs: ReadonlyMap<string, RunTally>,
  turns: readonly Turn[],
  targetOf: (position: number) => Turn | undefined,
): Projection {
  const changed = new Map<string, RunTally>();
  const sessions: SessionChange[] = [];
  const credits: CreditChange[] = [];
  const current = (id: string | null | undefined): RunTally | undefined =>
    id ? (changed.get(id) ?? runs.get(id)) : undefined;
  const put = (run: RunTally): void => void changed.set(run.id, run);
  const recount = (run: RunTally, turnCount: number, at: string): void => {
    const next = withTurns(run, turnCount);
    put(next);
    if (run.state !== "completed") return;
    // progression holds the run as it was credited: take that back, then credit it as it is now
    if (earnsCredit(run)) credits.push({ kind: "revoke", run, at });
    if (earnsCredit(next)) credits.push({ kind: "credit", run: next, at });
  };

  for (const turn of turns) {
    const own = current(turn.runId);
    if (PLAYED_KINDS.has(turn.kind) && turn.status === "applied" && own) {
      recount(own, own.turnCount + 1, turn.createdAt);
    } else if (turn.kind === "session_start" && own) {
      sessions.push({
        kind: "open",
        id: turn.id,
        runId: own.id,
        universeId: turn.universeId,
        startPosition: turn.position,
        startedAt: turn.createdAt,
      });
      put({ ...own, sessionCount: own.sessionCount + 1 });
    } else if (turn.kind === "session_end" && own) {
      sessions.push({
        kind: "close",
        runId: own.id,
        endPosition: turn.position,
        summary: typeof turn.input.summary === "string" ? turn.input.summary : "",
        reason: turn.input.reason === "interrupted" ? "interrupted" : "left",
        endedAt: sessionEndedAt(turn),
      });
      put({ ...own, lastSessionEndPosition: turn.position });
    }

    const named = current(lifecycleRunId(turn));
    if (named && turn.input.kind === "run_pause") {
      if (named.state === "active" || named.state === "paused" || named.state === "abandoned")
        put({ ...named, state: turn.input.paused ? "paused" : "active" });
    } else if (named && turn.input.kind === "run_end" && named.state !== "completed") {
      if (turn.input.outcome === "completed") {
        const reason = typeof turn.input.reason === "string" ? turn.input.reason : "completed";
        const completed: RunTally = {
          ...named,
          state: "completed",
          completionReason: reason,
          completedAtPosition: turn.position,
        };
        put(completed);
        // completed all the same, but a run nobody played earns nothing (progression.ts)
        if (earnsCredit(completed)) credits.push({ kind: "credit", run: completed, at: turn.createdAt });
      } else {
        put({ ...named, state: "abandoned", completionReason: null, completedAtPosition: null });
      }
    }

    const position = undoTargetOf(turn);
    const target = position === null ? undefined : targetOf(position);
    if (!target) continue;
    const ended = current(lifecycleRunId(target));
    if (ended && target.input.kind === "run_end") {
      if (ended.state === "completed" && ended.completedAtPosition === target.position) {
        credits.push({ kind: "revoke", run: ended, at: turn.createdAt });
        put({ ...ended, state: "active", completionReason: null, completedAtPosition: null });
      } else if (ended.state === "abandoned") {
        put({ ...ended, state: "active" });
      }
    }
    const played = current(target.runId);
    if (PLAYED_KINDS.has(target.kind) && played && played.turnCount > 0) {
      recount(played, played.turnCount - 1, turn.createdAt);
    }
  }
  return { runs: changed, sessions, credits };
}

/** A run as it is created, before any turn: what `projectTimeline` folds from. */
export function freshTally(
  run: Pick<RunTally, "id" | "playerId" | "universeId" | "therapeuticFocus">,
): RunTally {
  return {
    id: run.id,
    playerId: run.playerId,
    universeId: run.universeId,
    therapeuticFocus: run.therapeuticFocus,
    state: "active",
    turnCount: 0,
    sessionCount: 0,
    milestones: 0,
    completionReason: null,
    completedAtPosition: null,
    lastSessionEndPosition: null,
  };
}

/**
 * The records a whole timeline gives, from fresh runs: the reference the store's incremental
 * projection must equal. `turns` is the universe's timeline in order, as appended (every turn
 * `applied`; undo turns say what they undid).
 */
export function projectTimeline(
  runs: ReadonlyArray<Pick<RunTally, "id" | "playerId" | "universeId" | "therapeuticFocus">>,
  turns: readonly Turn[],
): Projection {
  const byPosition = new Map(turns.map((turn) => [turn.position, turn]));
  const asAppended = turns.map((turn) =>
    turn.status === "applied" ? turn : { ...turn, status: "applied" as const },
  );
  return projectTurns(new Map(runs.map((run) => [run.id, freshTally(run)])), asAppended, (position) =>
    byPosition.get(position),
  );
}

/** A player's progression as a projection's credits give it, from the empty one. */
export function progressionFrom(credits: readonly CreditChange[], playerId: string): Progression {
  let progression: Progression = {
    runsCompleted: 0,
    turnsInCompletedRuns: 0,
    milestones: 0,
    metaconcepts: [],
    completedRunIds: [],
    unlocks: [],
    updatedAt: new Date(0).toISOString(),
  };
  const credited = new Map<string, RunTally>();
  for (const credit of credits) {
    if (credit.run.playerId !== playerId) continue;
    if (credit.kind === "credit") {
      progression = creditCompletedRun(progression, credit.run, { now: credit.at });
      credited.set(credit.run.id, credit.run);
    } else {
      credited.delete(credit.run.id);
      progression = revokeCompletedRun(progression, credit.run, {
        now: credit.at,
        completedRuns: [...credited.values()],
      });
    }
  }
  return progression;
}
