import type { Outcome } from "../turn.ts";
import { signed } from "./ladder.ts";

/**
 * The four outcomes (Fate Core p. 130): shifts are the difference between the roll and the
 * opposition. Below zero fails, zero ties, one or two succeed, three or more succeed with style.
 */
export function outcomeOf(shifts: number): Outcome {
  if (shifts < 0) return "fail";
  if (shifts === 0) return "tie";
  if (shifts < 3) return "success";
  return "success_with_style";
}

export const OUTCOME_LABEL: Record<Outcome, string> = {
  fail: "failure",
  tie: "tie",
  success: "success",
  success_with_style: "success with style",
};

/** "+1 shift", "0 shifts", "−2 shifts": a roll's margin over its opposition. */
export function formatShifts(shifts: number): string {
  return `${signed(shifts)} shift${Math.abs(shifts) === 1 ? "" : "s"}`;
}
