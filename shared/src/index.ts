export * from "./rejection.ts";
export * from "./canonical.ts";
export * from "./canonical-check.ts";
export * from "./canonical-texts.ts";
export * from "./json-value.ts";
export * from "./delta.ts";
export * from "./state.ts";
export * from "./buckets.ts";
export * from "./canon-facts.ts";
export * from "./world-records.ts";
export * from "./upgrade.ts";
export * from "./command.ts";
export * from "./system-command.ts";
export * from "./turn.ts";
export * from "./protocol.ts";
export * from "./member-turn.ts";
export * from "./character.ts";
export * from "./markdown-text.ts";
export * from "./plain-text.ts";
export * from "./dice.ts";
export * from "./fair-dice.ts";
export * from "./dice-verify.ts";
export * from "./fate/ladder.ts";
export * from "./fate/outcome.ts";
export * from "./fate/skills.ts";
export * from "./fate/stress.ts";
export * from "./fate/roll.ts";
export * from "./fate/invoke.ts";
export * from "./decide.ts";
export * from "./recordable.ts";
export { DEFAULT_DIFFICULTY } from "./rules/action.ts";
export { fullSceneRefusal, hiddenRollRefusal } from "./rules/action-effects.ts";
export { CHOICE_FLAGS_MAX, choiceFlagRefusal } from "./rules/narrative.ts";
export {
  undoDecision,
  defaultUndoTarget,
  playersLatestTurn,
  rolledDice,
  undoRefusal,
  overlaps as pathsOverlap,
  touchedPath,
} from "./rules/undo.ts";
export { recordGmDeltas } from "./rules/gm-deltas.ts";
export * from "./evolve.ts";
export * from "./replay.ts";
export * from "./snapshot-policy.ts";
export * from "./continuity/index.ts";
export * from "./records.ts";
export * from "./visibility.ts";
export * from "./bookmarks.ts";
export * from "./state-diff.ts";
export * from "./actors.ts";
export * from "./narration/index.ts";
export * from "./api/index.ts";
export * from "./room-state.ts";
