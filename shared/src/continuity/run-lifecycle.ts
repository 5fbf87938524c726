import { z } from "zod";
import { reject, RejectionCode, type Rejection } from "../rejection.ts";

/**
 * A run is one character's playthrough of one universe:
 *
 *   active ⇄ paused            (a session ends / a session starts)
 *   active | paused → completed (with a reason: retired, died, victory, or any other words)
 *   active | paused → abandoned
 *   abandoned → active          (resumed later)
 *
 * `completed` is final for players; only undoing the turn that completed a run reopens it
 * (`reopenCompletedRun`).
 *
 * Rejection codes: a transition out of a run that is over (`completed`, or `abandoned` to anything
 * but `active`) is `run_not_active` — the run must be resumed first, or cannot be. A transition
 * that makes no sense from a live run (to the state it is already in, completing without a reason)
 * is `invalid_action`.
 */
export const runStateSchema = z.enum(["active", "paused", "completed", "abandoned"]);
export type RunState = z.infer<typeof runStateSchema>;

export const COMPLETION_REASONS = ["retired", "died", "victory"] as const;
/** The usual reasons, and any other words a game master chooses. */
export type CompletionReason = (typeof COMPLETION_REASONS)[number] | (string & {});

/** The parts of a run record the lifecycle reads and writes. */
export interface LifecycleRun {
  state: RunState;
  completionReason: string | null;
  /** The server records where a run completed; reopening clears it. */
  completedAtPosition?: number | null;
}

const ALLOWED: Readonly<Record<RunState, readonly RunState[]>> = {
  active: ["paused", "completed", "abandoned"],
  paused: ["active", "completed", "abandoned"],
  abandoned: ["active"],
  completed: [],
};

const REASON_MAX = 200;

export function canTransition(from: RunState, to: RunState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves a run to `to`, or says why it cannot. `reason` is required for `completed` and read only then. */
export function transitionRun<R extends LifecycleRun>(
  run: R,
  to: RunState,
  reason?: CompletionReason,
): { run: R } | Rejection {
  if (!canTransition(run.state, to)) {
    const over = run.state === "completed" || run.state === "abandoned";
    return reject(
      over ? RejectionCode.RunNotActive : RejectionCode.InvalidAction,
      over ? `the run is ${run.state}; it cannot become ${to}` : `a ${run.state} run cannot become ${to}`,
      { from: run.state, to },
    );
  }
  if (to !== "completed") return { run: { ...run, state: to } };
  const words = reason?.trim() ?? "";
  if (words === "" || words.length > REASON_MAX) {
    return reject(
      RejectionCode.InvalidAction,
      `completing a run needs a reason of 1 to ${REASON_MAX} characters`,
      {
        from: run.state,
        to,
      },
    );
  }
  return { run: { ...run, state: "completed", completionReason: words } };
}

/**
 * Undoing the turn that completed a run puts it back in play: `active` (or `paused` when the
 * player has left), its completion reason cleared. The caller also revokes the progression credit.
 */
export function reopenCompletedRun<R extends LifecycleRun>(
  run: R,
  to: "active" | "paused" = "active",
): { run: R } | Rejection {
  if (run.state !== "completed") {
    return reject(
      RejectionCode.InvalidAction,
      `only a completed run can be reopened; this one is ${run.state}`,
      {
        from: run.state,
        to,
      },
    );
  }
  const reopened: R = { ...run, state: to, completionReason: null };
  if (run.completedAtPosition !== undefined) reopened.completedAtPosition = null;
  return { run: reopened };
}
