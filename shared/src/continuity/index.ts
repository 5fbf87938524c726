/** Continuity: recaps, session summaries, run lifecycle and meta-progression. */
export * from "./recap.ts";
export * from "./session-summary.ts";
export * from "./progression.ts";
export * from "./run-lifecycle.ts";
export { selectWhileAway, type TimelineEvent, type TimelineTurn } from "./timeline.ts";
export { refreshesFatePoints } from "./session-refresh.ts";
export * from "./projection.ts";
