import type { SnapshotReason, TurnEvent, TurnKind } from "./turn.ts";

/** A snapshot every this many turns, whatever happened. */
export const SNAPSHOT_EVERY_TURNS = 100;
/** A snapshot once this many deltas have accumulated since the last one. */
export const SNAPSHOT_EVERY_DELTAS = 500;

export interface SnapshotCheck {
  position: number;
  /** Turns since the last snapshot, counting the turn just applied. */
  turnsSinceSnapshot: number;
  /** Deltas since the last snapshot, counting the turn just applied. */
  deltasSinceSnapshot: number;
  kind: TurnKind;
  events: readonly Pick<TurnEvent, "type">[];
  /** Someone asked for one (a GM, an operator, a test). */
  manual?: boolean;
}

/**
 * Whether to snapshot the state after a turn, and why (DESIGN §3). Story boundaries come first
 * because they are where people jump to; the intervals bound how much replay a read can need.
 */
export function snapshotDue(check: SnapshotCheck): SnapshotReason | null {
  if (check.manual) return "manual";
  if (check.kind === "session_end") return "session_end";
  let sceneEnd = false;
  let conflictEnd = false;
  let questCompleted = false;
  for (const event of check.events) {
    if (event.type === "scene_ended") sceneEnd = true;
    else if (event.type === "conflict_ended") conflictEnd = true;
    else if (event.type === "quest_resolved" || event.type === "quest_failed") questCompleted = true;
  }
  if (sceneEnd) return "scene_end";
  if (conflictEnd) return "conflict_end";
  if (questCompleted) return "quest_completed";
  if (check.turnsSinceSnapshot >= SNAPSHOT_EVERY_TURNS) return "interval_turns";
  if (check.deltasSinceSnapshot >= SNAPSHOT_EVERY_DELTAS) return "interval_deltas";
  return null;
}
