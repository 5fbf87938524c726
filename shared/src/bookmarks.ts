import { z } from "zod";
import type { Turn } from "./turn.ts";

/**
 * Places in a timeline worth jumping to, read from the turns themselves: session starts, scene
 * starts, quest changes, milestones and major events. The GM console's scrubber and the players'
 * bookmark list both come from here, so a bookmark means the same thing everywhere. Named save
 * points are stored apart (a player names one) and join the list as `save_point`.
 */
export const bookmarkKindSchema = z.enum([
  "session_start",
  "scene",
  "quest",
  "milestone",
  "major_event",
  "save_point",
]);
export type BookmarkKind = z.infer<typeof bookmarkKindSchema>;

export const bookmarkSchema = z.object({
  position: z.number().int().min(0),
  kind: bookmarkKindSchema,
  label: z.string(),
  /** A save point's name as its player gave it (the label may not keep it whole). */
  name: z.string().optional(),
});
export type Bookmark = z.infer<typeof bookmarkSchema>;

/** The turn kinds a bookmark can come from: a reader asks the timeline for these alone. */
export const BOOKMARKED_TURN_KINDS = ["session_start", "world_event"] as const;

const LABEL_MAX = 60;

function clip(text: string): string {
  return text.length > LABEL_MAX ? `${text.slice(0, LABEL_MAX - 1)}…` : text;
}

/**
 * The bookmark a turn makes, or null. Give it the turn as the reader may see it (visibility.ts):
 * a hidden turn then carries no input or events and makes none.
 */
export function bookmarkOf(turn: Turn): Bookmark | null {
  if (turn.status === "undone") return null;
  const input = turn.input as { kind?: unknown; title?: unknown; op?: unknown; level?: unknown };
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const at = turn.position;
  if (turn.kind === "session_start")
    return { position: at, kind: "session_start", label: `session start #${at}` };
  if (turn.kind !== "world_event") return null;
  if (input.kind === "scene")
    return { position: at, kind: "scene", label: clip(`scene: ${text(input.title)}`) };
  if (input.kind === "quest")
    return {
      position: at,
      kind: "quest",
      label: clip(`quest ${text(input.op)}: ${text(input.title)}`.trim()),
    };
  if (input.kind === "milestone")
    return { position: at, kind: "milestone", label: `${text(input.level)} milestone`.trim() };
  if (turn.events.some((event) => event.major))
    return { position: at, kind: "major_event", label: clip(turn.events[0]?.description ?? "major event") };
  return null;
}

/** Bookmarks from turns in any order, by position (one per position, the first kept). */
export function bookmarksOf(turns: readonly Turn[]): Bookmark[] {
  const byPosition = new Map<number, Bookmark>();
  for (const turn of turns) {
    const mark = bookmarkOf(turn);
    if (mark && !byPosition.has(mark.position)) byPosition.set(mark.position, mark);
  }
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}
