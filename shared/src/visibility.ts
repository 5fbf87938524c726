import { parsePointer, type Delta } from "./delta.ts";
import type { Telling, Turn, TurnEvent } from "./turn.ts";

/**
 * What of a turn each member of a universe may see. One function, used by the room (live turns,
 * `recent`, acks) and the HTTP API (timeline, single turns, search) alike, so nothing reaches a
 * client by a path that forgot to redact.
 *
 * The state names its secrets (state.ts): a member called `gmNotes` is for game masters; a member
 * called `private` is for game masters and the owner of the character it belongs to
 * (`/characters/<id>/private`), and for game masters alone anywhere else. Redaction goes by value:
 * a turn carries secrets not only in deltas addressed to them but inside whole values (a character
 * joining, a replaced NPC, a game master's raw deltas in a world event's input, an undo's `prev`),
 * so every value that leaves is walked and those members are dropped wherever they sit.
 *
 * A hidden roll, or any turn with a hidden event, shows only that it happened: its kind, who and
 * when, never its input, dice, events (the follow-on ones too), deltas or narration.
 */

/** Who is looking. A player is the owner of the characters `owns` accepts, another player to the rest. */
export type Viewer =
  { role: "gm" } | { role: "player"; owns: (characterId: string) => boolean } | { role: "spectator" };

export const GAME_MASTER: Viewer = { role: "gm" };
/** Other players see what spectators see: the public part of a turn. */
export const SPECTATOR: Viewer = { role: "spectator" };

/** Whether a turn is a hidden roll, or carries a hidden event: it then shows only that it happened. */
export function isHiddenTurn(turn: {
  resolution?: { hidden: boolean } | null;
  events: readonly { hidden: boolean }[];
}): boolean {
  if (turn.resolution?.hidden === true) return true;
  for (const event of turn.events) if (event.hidden) return true;
  return false;
}

/**
 * Whether a turn reached its viewer withheld (viewTurn): a hidden turn as everyone but game
 * masters gets it, its kind and who and when alone. No prose of it comes to that viewer.
 */
export function isWithheldTurn(turn: { input: { hidden?: unknown }; events: readonly unknown[] }): boolean {
  return turn.input.hidden === true && turn.events.length === 0;
}

/**
 * Where a value sits in the state document, as far as secrets care: the whole state, the
 * characters map, one character (whose `private` its owner may read), or anywhere else.
 */
type Place = "state" | "characters" | { character: string } | "other";

function childPlace(place: Place, key: string): Place {
  if (place === "state") return key === "characters" ? "characters" : "other";
  if (place === "characters") return { character: key };
  return "other";
}

function mayRead(place: Place, key: string, viewer: Viewer): boolean {
  if (viewer.role === "gm") return true;
  if (key === "gmNotes") return false;
  if (key !== "private") return true;
  return viewer.role === "player" && typeof place === "object" && viewer.owns(place.character);
}

/** Whether the viewer may read a member called `key` of a value outside the characters (a fact, an NPC, an input). */
export function mayReadMember(key: string, viewer: Viewer): boolean {
  return mayRead("other", key, viewer);
}

/** The value without the members the viewer may not read; the same object when nothing is withheld. */
function redactValue(value: unknown, place: Place, viewer: Viewer): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const seen = redactValue(value[i], "other", viewer);
      if (seen !== value[i]) (copy ??= value.slice())[i] = seen;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(record)) {
    if (!mayRead(place, key, viewer)) {
      copy ??= { ...record };
      delete copy[key];
      continue;
    }
    const seen = redactValue(record[key], childPlace(place, key), viewer);
    if (seen !== record[key]) (copy ??= { ...record })[key] = seen;
  }
  return copy ?? record;
}

/** Where a delta's path points, or null when the path itself runs through a member withheld from the viewer. */
function placeOfPath(path: string, viewer: Viewer): Place | null {
  let tokens: string[];
  try {
    tokens = parsePointer(path);
  } catch {
    return null;
  }
  let place: Place = "state";
  for (const token of tokens) {
    if (!mayRead(place, token, viewer)) return null;
    place = childPlace(place, token);
  }
  return place;
}

/** A delta as the viewer may see it (its `value` and `prev` redacted), or null when it is withheld whole. */
export function viewDelta(delta: Delta, viewer: Viewer): Delta | null {
  if (viewer.role === "gm") return delta;
  const place = placeOfPath(delta.path, viewer);
  if (place === null) return null;
  let seen = delta;
  for (const field of ["value", "prev"] as const) {
    if (!(field in delta)) continue;
    const redacted = redactValue(delta[field], place, viewer);
    if (redacted !== delta[field]) seen = { ...seen, [field]: redacted };
  }
  return seen;
}

function viewDeltas(deltas: readonly Delta[], viewer: Viewer): Delta[] {
  let copy: Delta[] | null = null;
  for (let i = 0; i < deltas.length; i++) {
    const seen = viewDelta(deltas[i]!, viewer);
    if (seen === deltas[i]) {
      copy?.push(seen);
      continue;
    }
    copy ??= deltas.slice(0, i);
    if (seen) copy.push(seen);
  }
  return copy ?? (deltas as Delta[]);
}

/**
 * A turn's input: a joining character carries its whole sheet (private notes, GM notes); a game
 * master's world event or retcon carries the raw deltas it was given.
 */
function viewInput(input: Record<string, unknown>, viewer: Viewer): Record<string, unknown> {
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(input)) {
    const value = input[key];
    let seen: unknown;
    // the key a resent command is known by names its sender's connection: theirs and the GM's only
    if (key === "clientKey" || !mayRead("other", key, viewer)) {
      copy ??= { ...input };
      delete copy[key];
      continue;
    }
    if (key === "character" && input.kind === "add_character" && isRecord(value)) {
      const id = typeof value.id === "string" ? value.id : "";
      seen = redactValue(value, { character: id }, viewer);
    } else if (key === "deltas" && Array.isArray(value)) {
      seen = viewDeltas(value as Delta[], viewer);
    } else {
      seen = redactValue(value, "other", viewer);
    }
    if (seen !== value) (copy ??= { ...input })[key] = seen;
  }
  return copy ?? input;
}

/** Events that count a game master's raw deltas (`data.deltas`), some of which may be withheld. */
const COUNTING_DELTAS = new Set(["world_event", "retcon"]);

/** An event's data without its count of raw deltas: the count would tell how many were withheld. */
function uncounted(data: TurnEvent["data"]): TurnEvent["data"] {
  if (typeof data.deltas !== "number") return data;
  const { deltas: _counted, ...rest } = data;
  return rest;
}

function viewEvents(events: readonly TurnEvent[], viewer: Viewer, deltasWithheld: boolean): TurnEvent[] {
  let copy: TurnEvent[] | null = null;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    let data = redactValue(event.data, "other", viewer) as TurnEvent["data"];
    if (deltasWithheld && COUNTING_DELTAS.has(event.type)) data = uncounted(data);
    if (data === event.data) {
      copy?.push(event);
      continue;
    }
    copy ??= events.slice(0, i);
    copy.push({ ...event, data });
  }
  return copy ?? (events as TurnEvent[]);
}

/**
 * The turn as `viewer` may see it. The same object when nothing is withheld (most turns), so a
 * caller can tell cheaply whether an audience needs an encoding of its own.
 */
export function viewTurn<T extends Pick<Turn, "input" | "resolution" | "events" | "deltas" | "narration">>(
  turn: T,
  viewer: Viewer,
): T {
  if (viewer.role === "gm") return turn;
  if (isHiddenTurn(turn)) {
    return {
      ...turn,
      input: { kind: turn.input.kind, hidden: true },
      resolution: null,
      events: [],
      deltas: [],
      narration: null,
    };
  }
  const input = viewInput(turn.input, viewer);
  const deltas = viewDeltas(turn.deltas, viewer);
  const events = viewEvents(turn.events, viewer, deltas.length !== turn.deltas.length);
  const narration = turn.narration && viewNarration(turn.narration);
  if (
    input === turn.input &&
    events === turn.events &&
    deltas === turn.deltas &&
    narration === turn.narration
  )
    return turn;
  return { ...turn, input, events, deltas, narration };
}

/**
 * A turn's prose as players and spectators read it: the words, who told them and with which model,
 * without the record's audit of the request (the endpoint's host, the sampling parameters, the
 * prompt's hash, tokens and latency), which tells how the operator runs the narrator.
 */
function viewNarration<N extends Telling & { retellings?: Telling[] }>(narration: N): N {
  // a telling of the template asked nothing of anyone
  const audited = (telling: Telling) => telling.endpoint != null;
  if (!audited(narration) && !narration.retellings?.some(audited)) return narration;
  const shown = <T extends Telling>({ endpoint: _e, parameters: _p, latencyMs: _l, ...telling }: T) => ({
    ...telling,
    promptHash: null,
    tokens: null,
  });
  const view = shown(narration);
  return (narration.retellings ? { ...view, retellings: narration.retellings.map(shown) } : view) as N;
}

/**
 * The state document as `viewer` may see it: `gmNotes` dropped everywhere, and `private` dropped
 * except on the characters the viewer owns. The same object when nothing is withheld (GMs).
 */
export function viewState<T extends object>(state: T, viewer: Viewer): T {
  if (viewer.role === "gm") return state;
  return redactValue(state, "state", viewer) as T;
}

/**
 * The characters whose owner-only members (`private`) the turn carries: their owners see more of
 * it than other players do. Usually none, so one public view serves every non-GM.
 */
export function ownerOnlyCharacters(turn: Turn): string[] {
  const found = new Set<string>();
  const probe: Viewer = {
    role: "player",
    owns: (characterId) => {
      found.add(characterId);
      return false;
    },
  };
  viewTurn(turn, probe);
  return [...found];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
