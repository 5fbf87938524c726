import type { Narration, Resolution, Turn, TurnEvent } from "./turn.ts";

/**
 * The compact form of a turn as players and spectators receive it live: the same fields as the
 * turn document, by position instead of by name. Every member decodes every turn, and the names
 * were a third of each one's bytes. Game masters keep the named document (with its deltas).
 *
 * Left out: the universe id (the room's own, which the receiver knows) and the deltas (a member's
 * turn has none: its view of the state arrives as the synced room state). The first element is
 * the layout's version; a decoder refuses one it does not know rather than misread the fields.
 *
 * Version 2: a narration of the template's shape (told as its turn was made, so most live turns
 * carry one) is sent by position too, without the audit fields it always has empty (see
 * CompactNarration); any other narration goes as its record. Version 1 always sent the record.
 */
export const MEMBER_TURN_VERSION = 2;
/** The versions a decoder reads: a version 1 layout is version 2's without compact narration. */
const READABLE_VERSIONS: readonly number[] = [1, 2];

type CompactResolution = [
  Resolution["action"],
  string,
  number,
  Resolution["dice"],
  Resolution["rerolls"],
  number,
  number,
  number,
  Resolution["oppositionKind"],
  Resolution["oppositionDice"],
  number,
  Resolution["outcome"],
  0 | 1,
];

/** type, description, flags (1: major, 2: hidden), data (0 when empty). */
type CompactEvent = [string, string, number, TurnEvent["data"] | 0];

/**
 * A narration whose model, prompt hash, tokens and endpoint are null, whose parameters are empty
 * and which has no retellings (the template's): text, narrator, seed, latencyMs, fallback,
 * audience, createdAt. Every other narration is sent as its record, so the form is exact both ways.
 */
type CompactNarration = [
  string,
  string,
  number | null,
  number,
  string | null,
  NonNullable<Narration["audience"]>,
  string,
];

/** The record's fields, in the order a narrator's output and its telling write them. */
const TOLD_AT_ONCE_KEYS = [
  "text",
  "model",
  "promptHash",
  "tokens",
  "endpoint",
  "parameters",
  "narrator",
  "seed",
  "latencyMs",
  "fallback",
  "audience",
  "createdAt",
].join();

function compactNarration(n: Narration): CompactNarration | Narration {
  if (
    n.model !== null ||
    n.promptHash !== null ||
    n.tokens !== null ||
    n.endpoint !== null ||
    n.parameters === undefined ||
    Object.keys(n.parameters).length > 0 ||
    typeof n.latencyMs !== "number" ||
    n.fallback === undefined ||
    n.audience === undefined ||
    typeof n.createdAt !== "string" ||
    Object.keys(n).join() !== TOLD_AT_ONCE_KEYS
  )
    return n;
  return [n.text, n.narrator, n.seed, n.latencyMs, n.fallback, n.audience, n.createdAt];
}

function fullNarration(c: CompactNarration | Narration | null): Narration | null {
  if (!Array.isArray(c)) return c;
  const [text, narrator, seed, latencyMs, fallback, audience, createdAt] = c;
  return {
    text,
    model: null,
    promptHash: null,
    tokens: null,
    endpoint: null,
    parameters: {},
    narrator,
    seed,
    latencyMs,
    fallback,
    audience,
    createdAt,
  };
}

export type CompactMemberTurn = [
  typeof MEMBER_TURN_VERSION,
  number,
  string,
  string | null,
  string | null,
  string | null,
  Turn["actor"],
  Turn["kind"],
  Turn["input"],
  CompactResolution | null,
  CompactEvent[],
  0 | 1,
  CompactNarration | Narration | null,
  string,
];

function compactResolution(r: Resolution): CompactResolution {
  return [
    r.action,
    r.skill,
    r.rating,
    r.dice,
    r.rerolls,
    r.invokeBonus,
    r.total,
    r.opposition,
    r.oppositionKind,
    r.oppositionDice,
    r.shifts,
    r.outcome,
    r.hidden ? 1 : 0,
  ];
}

function fullResolution(c: CompactResolution): Resolution {
  const [action, skill, rating, dice, rerolls, invokeBonus, total, opposition] = c;
  const [, , , , , , , , oppositionKind, oppositionDice, shifts, outcome, hidden] = c;
  return {
    action,
    skill,
    rating,
    dice,
    rerolls,
    invokeBonus,
    total,
    opposition,
    oppositionKind,
    oppositionDice,
    shifts,
    outcome,
    hidden: hidden === 1,
  };
}

const hasData = (data: TurnEvent["data"]) => Object.keys(data).length > 0;

/** A member's turn (deltas already left out, see memberTurn) in its compact form. */
export function compactMemberTurn(turn: Turn): CompactMemberTurn {
  return [
    MEMBER_TURN_VERSION,
    turn.position,
    turn.id,
    turn.runId,
    turn.characterId,
    turn.playerId,
    turn.actor,
    turn.kind,
    turn.input,
    turn.resolution ? compactResolution(turn.resolution) : null,
    turn.events.map((e) => [
      e.type,
      e.description,
      (e.major ? 1 : 0) | (e.hidden ? 2 : 0),
      hasData(e.data) ? e.data : 0,
    ]),
    turn.status === "undone" ? 1 : 0,
    turn.narration && compactNarration(turn.narration),
    turn.createdAt,
  ];
}

/** The turn document back from its compact form, in the universe the receiver is in. */
export function expandMemberTurn(compact: unknown, universeId: string): Turn {
  if (!Array.isArray(compact) || !READABLE_VERSIONS.includes(compact[0] as number) || compact.length !== 14)
    throw new Error(
      `not a member turn of version ${READABLE_VERSIONS.join(" or ")} (${Array.isArray(compact) ? `version ${String(compact[0])}` : typeof compact})`,
    );
  const [, position, id, runId, characterId, playerId, actor, kind, input] = compact as CompactMemberTurn;
  const [, , , , , , , , , resolution, events, undone, narration, createdAt] = compact as CompactMemberTurn;
  return {
    universeId,
    position,
    id,
    runId,
    characterId,
    playerId,
    actor,
    kind,
    input,
    resolution: resolution ? fullResolution(resolution) : null,
    events: events.map(([type, description, flags, data]) => ({
      type,
      description,
      major: (flags & 1) !== 0,
      hidden: (flags & 2) !== 0,
      data: data === 0 ? {} : data,
    })),
    deltas: [],
    status: undone === 1 ? "undone" : "applied",
    narration: fullNarration(narration),
    createdAt,
  };
}
