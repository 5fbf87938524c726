import type { TurnKind } from "../turn.ts";
import { isHiddenTurn } from "../visibility.ts";
import { oneLine, sentence } from "./text.ts";

/**
 * The parts of a turn that recaps and summaries read. A full `Turn` satisfies it, and so does a
 * slimmer row the server fetches for a recap.
 */
export interface TimelineEvent {
  description: string;
  major: boolean;
  hidden: boolean;
}

export interface TimelineTurn {
  position: number;
  kind: TurnKind;
  characterId: string | null;
  /** The run that played it; null for the game master's turns, on a character or not. */
  runId?: string | null;
  status: "applied" | "undone";
  events: readonly TimelineEvent[];
  /** A hidden roll shows nothing of itself but its kind (see visibility.ts). */
  resolution?: { hidden: boolean } | null;
}

/** Session bookkeeping and undo turns say nothing about the story; recaps leave them out. */
export const BOOKKEEPING_KINDS: ReadonlySet<TurnKind> = new Set<TurnKind>([
  "session_start",
  "session_end",
  "undo",
]);

/** Retcons are shown from the canon's retcon notes, not as turns. */
const NOT_STORY: ReadonlySet<TurnKind> = new Set<TurnKind>([...BOOKKEEPING_KINDS, "retcon"]);

export const KIND_LABEL: Readonly<Record<TurnKind, string>> = {
  action: "An action.",
  choice: "A choice.",
  custom: "A move of their own.",
  combat: "A blow in a conflict.",
  world_event: "Something happened in the world.",
  system: "A change to the table.",
  undo: "An undo.",
  retcon: "A retcon.",
  session_start: "A session began.",
  session_end: "A session ended.",
};

/** The turn's events a player may see, as one line; the kind's label when none is visible. */
export function visibleText(turn: TimelineTurn, onlyMajor = false): string {
  const parts: string[] = [];
  if (isHiddenTurn(turn)) return KIND_LABEL[turn.kind];
  for (const event of turn.events) {
    if (event.hidden || (onlyMajor && !event.major)) continue;
    const line = oneLine(event.description);
    if (line !== "") parts.push(line);
  }
  if (parts.length === 0) return KIND_LABEL[turn.kind];
  // several events, each a sentence of its own: "…: success Mara creates…" ran two together
  return parts.length === 1
    ? parts[0]!
    : parts.map((part, i) => (i < parts.length - 1 ? sentence(part) : part)).join(" ");
}

/** Whether a turn belongs in a recap's "last turns": applied, and part of the story. */
export function isStoryTurn(turn: TimelineTurn): boolean {
  return turn.status === "applied" && !NOT_STORY.has(turn.kind);
}

/**
 * "While you were away": the turns of other characters, and the game master's (world events, and
 * what they did to the character herself: a milestone, a compel), after position `since`, that are applied and carry at least one major event a
 * player may see. `since` null means the run has no previous session: the whole slice counts.
 * Returned in ascending position order whatever the input order, so a database page in either
 * direction gives the same answer.
 */
export function selectWhileAway<T extends TimelineTurn>(
  turns: readonly T[],
  characterId: string,
  since: number | null,
): T[] {
  const from = since ?? 0;
  const picked: T[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i]!;
    if (isAwayTurn(turn, characterId, from)) picked.push(turn);
  }
  return isAscending(picked) ? picked : picked.sort((a, b) => a.position - b.position);
}

/** The test `selectWhileAway` applies to each turn; cheapest checks first, as it runs over long slices. */
export function isAwayTurn(turn: TimelineTurn, characterId: string, from: number): boolean {
  if (turn.position <= from || turn.status !== "applied" || isOwnTurn(turn, characterId)) return false;
  const kind = turn.kind;
  if (kind === "session_start" || kind === "session_end" || kind === "undo" || kind === "retcon")
    return false;
  return hasVisibleMajorEvent(turn);
}

/** The character's own turns, played in one of its runs; a game master's turn on it (no run) is news to it. */
function isOwnTurn(turn: TimelineTurn, characterId: string): boolean {
  return turn.characterId === characterId && turn.runId !== null;
}

/** Whether a player may see that the turn did something major: a major event, in a turn not hidden. */
export function hasVisibleMajorEvent(turn: TimelineTurn): boolean {
  if (turn.resolution?.hidden === true) return false;
  const events = turn.events;
  let major = false;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.hidden) return false;
    if (event.major) major = true;
  }
  return major;
}

function isAscending(turns: readonly TimelineTurn[]): boolean {
  for (let i = 1; i < turns.length; i++) if (turns[i - 1]!.position > turns[i]!.position) return false;
  return true;
}
