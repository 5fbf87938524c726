import { createReadStream } from "node:fs";
import {
  applyDeltasInPlace,
  canonicalWithChecksum,
  checksumOfJson,
  DICE_SECRET_BYTES,
  diceCommitment,
  differingPaths,
  idSchema,
  isCanonicalJson,
  jsonValueProblem,
  pathIdSchema,
  POSITION_MAX,
  STATE_VERSION,
  STORABLE,
  undoTargetOf,
  universeBodySchema,
  upcastState,
  upgradeDeltas,
  type Delta,
  type UniverseState,
} from "@loom/shared";
import { z } from "zod";
import {
  bodyLineSchema,
  EXPORT_FORMAT,
  headerLineSchema,
  parseAudience,
  READABLE_VERSIONS,
  type HeaderLine,
  type SavePointLine,
  type SnapshotLine,
  type TurnLine,
} from "./format.ts";
import { firstIssue, stateProblem, touchedProblem } from "./state-check.ts";
import { turnContentProblem } from "./turn-input.ts";
import { turnLineAsIs } from "./turn-line.ts";

/**
 * How a NUL or a lone surrogate gets into a parsed line: written as an escape (raw, neither is
 * valid JSON text or UTF-8). The rules never let one into a turn; stored, it would break every
 * query that reads inside the turn's JSON, so a line that may hold one is checked in full.
 */
const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/i;

/** A line of an export that is not what it must be: the file is refused from there on. */
export class ExportFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
    /** Where a snapshot and the replayed timeline differ, when that is the reason. */
    readonly paths: string[] = [],
    /**
     * `missing_parent` / `parent_mismatch`: a reference export whose past this database lacks;
     * `replay_mismatch`: a turn that re-executes (`--replay`) to another roll or other deltas.
     */
    readonly code:
      "bad_export_file" | "missing_parent" | "parent_mismatch" | "replay_mismatch" = "bad_export_file",
  ) {
    super(`line ${line}: ${reason}${paths.length ? ` (differs at ${paths.join(", ")})` : ""}`);
    this.name = "ExportFileError";
  }
}

export type ExportItem =
  | { kind: "header"; line: number; header: HeaderLine }
  | { kind: "turn"; line: number; turn: TurnLine }
  | {
      kind: "snapshot";
      line: number;
      snapshot: SnapshotLine;
      state: UniverseState | null;
      /** The document's canonical JSON, the text its checksum is of. */
      json: string;
    }
  | { kind: "save_point"; line: number; savePoint: SavePointLine }
  | { kind: "end"; line: number; turns: number; snapshots: number; savePoints: number };

/**
 * The longest line a reader takes, in characters (UTF-16 code units, a byte each for the ASCII
 * of JSON): 64 Mi. The longest lines an export writes are its snapshots, a state's canonical JSON
 * (400 KB at 20,000 turns of a played campaign, a few MB for a large world); a turn is a command
 * of at most 64 KB with its roll, events and deltas. A longer line is refused at once, before it
 * is held whole: V8's strings end at 2^29 - 24 characters, and JSON.parse of a line holds several
 * times its size. `loom import --max-line-mb` raises it.
 */
export const MAX_LINE_CHARS = 64 * 2 ** 20;

/**
 * The lines of a file, read a chunk at a time: split at `\n`, a `\r` before it dropped (a file
 * saved with Windows line ends reads the same). A line of JSON holds no raw line break, so this
 * is the whole of what readline would do here, at a fraction of its cost a line. The lines of a
 * chunk are handed out without returning to the event loop: chunks of 64 KB (some 40 turns) let
 * it run often enough to keep feeding an import's COPY to the database; with 1 MB chunks the
 * database waited for its rows. A line that spans chunks is kept as its pieces and joined once,
 * at its end (each chunk searched once: a line of many chunks costs its length, not its square);
 * one longer than `maxLine` characters is refused (ExportFileError) as soon as it is.
 */
export async function* fileLines(path: string, maxLine = MAX_LINE_CHARS): AsyncGenerator<string> {
  // the line begun in earlier chunks, not ended yet, and its length
  let pieces: string[] = [];
  let held = 0;
  let number = 0;
  const tooLong = () =>
    new ExportFileError(
      number + 1,
      `is longer than ${maxLine} characters, the most a line may hold (loom import --max-line-mb raises it)`,
    );
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })) {
    const text = chunk as string;
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      let line: string;
      if (held === 0) {
        if (end - start > maxLine) throw tooLong();
        line =
          text.charCodeAt(end - 1) === 13 && end > start
            ? text.slice(start, end - 1)
            : text.slice(start, end);
      } else {
        if (held + end - start > maxLine) throw tooLong();
        pieces.push(text.slice(start, end));
        line = pieces.join("");
        pieces = [];
        held = 0;
        if (line.endsWith("\r")) line = line.slice(0, -1);
      }
      number += 1;
      yield line;
      start = end + 1;
    }
    if (start < text.length) {
      held += text.length - start;
      if (held > maxLine) throw tooLong();
      pieces.push(start === 0 ? text : text.slice(start));
    }
  }
  if (held > 0) {
    const rest = pieces.join("");
    yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
  }
}

/**
 * Why a save point's time (an ISO time, its form checked) is not one Loom stores, or null: one
 * Postgres takes (an offset from UTC up to 15:59; no year 0, where 1 BC comes before AD 1), and
 * one an export writes back as it was read (years 1 to 9999 in UTC).
 */
function timeProblem(createdAt: string): string | null {
  const offset = /([+-]\d\d):?(\d\d)$/.exec(createdAt);
  if (offset && Math.abs(Number(offset[1])) > 15)
    return `at ${createdAt}, ${offset[1]!.slice(1)}:${offset[2]} from UTC, beyond the 15:59 Postgres takes`;
  if (createdAt.startsWith("0000")) return "in the year 0, which has no time";
  const year = new Date(createdAt).getUTCFullYear();
  if (year < 1) return `in the year 0 (${createdAt} in UTC), which has no time`;
  if (year > 9999) return `at ${createdAt}, after the year 9999 in UTC`;
  return null;
}

/** A time as `toISOString` writes it: what every export writes. */
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const isoTimeSchema = z.iso.datetime({ offset: true });
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number the digits of `text` from `at` write, `count` of them (checked to be digits). */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}

/**
 * Whether a time of the usual form is a real one from the year 1 on: read by its digits, as every
 * turn's time is (parsing a Date costs a few microseconds a turn).
 */
function usualTime(text: string): boolean {
  if (!ISO_UTC.test(text)) return false;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
  return (
    year >= 1 &&
    days !== undefined &&
    day >= 1 &&
    day <= days &&
    digits(text, 11, 2) < 24 &&
    digits(text, 14, 2) < 60 &&
    digits(text, 17, 2) < 60
  );
}

/**
 * Why a time the file gives is not one Loom writes and Postgres stores, or null: an ISO time of
 * a day the calendar has (zod's check knows 2024-02-30 is none), within timeProblem's range.
 */
function fileTimeProblem(text: string): string | null {
  if (usualTime(text)) return null;
  if (!isoTimeSchema.safeParse(text).success)
    return `${shown(text)} is not an ISO time of a real day (such as 2024-05-01T12:00:00.000Z)`;
  return timeProblem(text);
}

/** A value of the file in a refusal: a long text cut short, with its length. */
function shown(value: unknown): string {
  if (typeof value !== "string") return JSON.stringify(value) ?? String(value);
  return value.length <= SHOWN_CHARS
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, SHOWN_CHARS))}… (${value.length} characters)`;
}
const SHOWN_CHARS = 40;

/** Why `value` is not what `schema` takes (as the API takes it), or null. */
function boundProblem(schema: z.ZodType, value: unknown, what: string): string | null {
  const result = schema.safeParse(value);
  return result.success
    ? null
    : `${shown(value)} is not ${what}: ${result.error.issues[0]?.message ?? "invalid"}`;
}

/**
 * A universe's name and premise within the bounds the API creates a universe with. The genesis'
 * name is not held to its plain-text rule (plain-text.ts): states written before it may hold
 * control characters, which the command line escapes wherever it prints them. The header's name
 * is the one the imported universe is created with, and is held to the API's own check.
 */
const universeNameSchema = z.string().trim().min(1).max(universeBodySchema.shape.name.maxLength!);
const premiseSchema = z.string().max(universeBodySchema.shape.premise.unwrap().maxLength!);
/** Positions are Postgres integers, as the API bounds them. */
const positionSchema = z.number().int().min(0).max(POSITION_MAX);
/** A sha256 (a dice commitment) and a dice secret, in lowercase hex. */
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SECRET_HEX = new RegExp(`^[0-9a-f]{${DICE_SECRET_BYTES * 2}}$`);

/**
 * Why a header (of the header line's shape) holds what no export Loom writes holds, or null: a
 * universe name the API would not take, an id longer than the API's, a position past Postgres'
 * integers, a time that is none, dice that are no commitment and secret, text Postgres cannot
 * store. Each is named by its member.
 */
function headerProblem(header: HeaderLine): string | null {
  const { universe } = header;
  const checks: Array<[string, () => string | null]> = [
    [
      "universe.name",
      () => boundProblem(universeNameSchema, universe.name, "a universe's name the API takes"),
    ],
    ["universe.id", () => boundProblem(pathIdSchema, universe.id, "an id the API takes")],
    [
      "universe.parentId",
      () =>
        universe.parentId === null
          ? null
          : boundProblem(pathIdSchema, universe.parentId, "an id the API takes"),
    ],
    ["universe.createdBy", () => boundProblem(pathIdSchema, universe.createdBy, "a player id the API takes")],
    ["universe.createdAt", () => fileTimeProblem(universe.createdAt)],
    [
      "universe.branchPosition",
      () =>
        universe.branchPosition === null
          ? null
          : boundProblem(positionSchema, universe.branchPosition, "a position"),
    ],
    ["exportedAt", () => fileTimeProblem(header.exportedAt)],
    [
      "audience",
      () => (parseAudience(header.audience) ? null : `${shown(header.audience)} is not gm or player:<id>`),
    ],
    ["from", () => boundProblem(positionSchema, header.from, "a position")],
    ["head", () => boundProblem(positionSchema, header.head, "a position")],
    [
      "base.position",
      () => (header.base ? boundProblem(positionSchema, header.base.position, "a position") : null),
    ],
  ];
  header.lineage.forEach((stretch, i) =>
    checks.push(
      [
        `lineage[${i}].universeId`,
        () => boundProblem(pathIdSchema, stretch.universeId, "an id the API takes"),
      ],
      [`lineage[${i}].after`, () => boundProblem(positionSchema, stretch.after, "a position")],
      [
        `lineage[${i}].through`,
        () => (stretch.through === null ? null : boundProblem(positionSchema, stretch.through, "a position")),
      ],
    ),
  );
  header.dice.forEach((segment, i) =>
    checks.push(
      [`dice[${i}].universeId`, () => boundProblem(pathIdSchema, segment.universeId, "an id the API takes")],
      [`dice[${i}].from`, () => boundProblem(positionSchema, segment.from, "a position")],
      [`dice[${i}].legacyThrough`, () => boundProblem(positionSchema, segment.legacyThrough, "a position")],
      [
        `dice[${i}].commitment`,
        () =>
          SHA256_HEX.test(segment.commitment) ? null : `${shown(segment.commitment)} is not a sha256 in hex`,
      ],
      [
        `dice[${i}].secret`,
        () =>
          segment.secret === null
            ? null
            : !SECRET_HEX.test(segment.secret)
              ? `${shown(segment.secret)} is not a dice secret (${DICE_SECRET_BYTES} bytes in lowercase hex)`
              : diceCommitment(segment.secret) !== segment.commitment
                ? "does not match the stretch's commitment"
                : null,
      ],
      [
        `dice[${i}].revealedAt`,
        () => (segment.revealedAt === null ? null : fileTimeProblem(segment.revealedAt)),
      ],
    ),
  );
  for (const [member, check] of checks) {
    const problem = check();
    if (problem) return `the header's ${member} ${problem}`;
  }
  const unstorable = jsonValueProblem(header, STORABLE);
  if (unstorable) return `the header: ${unstorable}, which Loom never stores`;
  // the name the universe is created with, held to the API's own check (its plain-text rule)
  // once the bounds and what no store takes have been told in their own words
  const unnamed = boundProblem(
    universeBodySchema.shape.name,
    universe.name,
    "a universe's name the API takes",
  );
  return unnamed ? `the header's universe.name ${unnamed}` : null;
}

/** The usual id (a UUID), taken without asking zod: the API's bounds of a player's or run's id. */
const ID_MIN = pathIdSchema.minLength ?? 1;
const ID_MAX = pathIdSchema.maxLength ?? Number.POSITIVE_INFINITY;
const TURN_IDS = ["runId", "playerId"] as const;
/** Character ids found good that a reading keeps, so as not to parse them again. */
const CHARACTERS_KEPT = 1_000;
const idProblem = (value: string, what: string): string | null =>
  value.length >= ID_MIN && value.length <= ID_MAX ? null : boundProblem(pathIdSchema, value, what);

/**
 * Why a turn holds what a turn Loom writes does not, or null: a position past the header's head
 * (so none past Postgres' integers), ids the API would not take, a time that is none, an input
 * the API would not take or who acted not fitting it (turnContentProblem). What the rules made
 * of the command (its roll, events and deltas) is checked by re-executing it (`--replay`).
 */
function turnProblem(
  turn: TurnLine,
  head: number,
  characters: Set<string>,
  redacted: boolean,
): string | null {
  const at = () => `turn at position ${turn.position}`;
  if (turn.position > head) return `${at()} is beyond the header's head, ${head}`;
  for (const member of TURN_IDS) {
    const value = turn[member];
    const problem = value === null ? null : idProblem(value, "an id the API takes");
    if (problem) return `${at()}: its ${member} ${problem}`;
  }
  // a timeline has a few characters, each in many turns: each id is parsed once
  if (turn.characterId !== null && !characters.has(turn.characterId)) {
    const problem = boundProblem(idSchema, turn.characterId, "a character id the API takes");
    if (problem) return `${at()}: its characterId ${problem}`;
    if (characters.size < CHARACTERS_KEPT) characters.add(turn.characterId);
  }
  const untimely = fileTimeProblem(turn.createdAt);
  if (untimely) return `${at()}: its createdAt ${untimely}`;
  // a reader's export withholds what the reader may not see of an input (a hidden roll's all but
  // its kind): it holds no command, and is never imported
  const untrue = redacted ? null : turnContentProblem(turn);
  return untrue ? `${at()}: ${untrue}` : null;
}

/**
 * Why a turn's command names a character the state before it does not have, or null. The rules
 * refuse such a command (`unknown_character`); a session's end alone is decided for a character
 * a game master's undo took out of the story meanwhile (rules/system.ts).
 */
function absentCharacter(turn: TurnLine, state: UniverseState): string | null {
  const named = turn.input.characterId;
  if (typeof named !== "string" || turn.input.kind === "session_end") return null;
  return Object.hasOwn(state.characters, named)
    ? null
    : `turn at position ${turn.position}: its input names character ${shown(named)}, which the universe does not have before it`;
}

/**
 * Why the genesis (the state at position 0) is not one a universe is created with: its name and
 * premise as the API takes them. What later states hold is the rules' and the state schema's, as
 * a game master's retcons are.
 */
function genesisProblem(state: UniverseState): string | null {
  const name = boundProblem(universeNameSchema, state.universe.name, "a universe's name the API takes");
  if (name) return `its universe.name ${name}`;
  const premise = boundProblem(premiseSchema, state.universe.premise, "a premise the API takes");
  return premise ? `its universe.premise ${premise}` : null;
}

/**
 * How deep a line may nest: what Loom stores (STORABLE) inside a turn's or snapshot's envelope.
 * Deeper values wedge every reader of the turn (a thread's reply, a room's encoding), so a file
 * holding one is refused at its line, before it is parsed.
 */
const LINE_DEPTH_MAX = STORABLE.depthMax + 8;

function parse(text: string, line: number): unknown {
  if (nestedBeyond(text, LINE_DEPTH_MAX))
    throw new ExportFileError(
      line,
      `is nested deeper than ${LINE_DEPTH_MAX} levels, which Loom never stores`,
    );
  try {
    return JSON.parse(text);
  } catch {
    throw new ExportFileError(line, "is not JSON");
  }
}

/** Whether JSON text opens more than `max` arrays and objects inside one another (strings skipped). */
function nestedBeyond(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function upcast(document: Record<string, unknown>): UniverseState {
  return document.version === STATE_VERSION ? (document as UniverseState) : upcastState(document);
}

/**
 * A snapshot's document as a state of this Loom: one of the current version parsed with the
 * state's schema (and kept as it is: its text is what its checksum is of), an older one upcast
 * (which parses the result). What is none, of a version this Loom does not know included, is
 * refused at its line: a universe would not open from it.
 */
function stateOf(document: Record<string, unknown>, line: number, what: string): UniverseState {
  const version = document.version;
  if (version === STATE_VERSION) {
    const problem = stateProblem(document);
    if (problem === null) return document as UniverseState;
    throw new ExportFileError(line, `${what} is not a Loom state (version ${STATE_VERSION}): ${problem}`);
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1 || version > STATE_VERSION)
    throw new ExportFileError(
      line,
      `${what} is of state version ${JSON.stringify(version) ?? "(none)"}, which this Loom does not know (it reads 1 to ${STATE_VERSION})`,
    );
  try {
    return upcastState(document);
  } catch (error) {
    const why =
      error instanceof z.ZodError
        ? firstIssue(error)
        : error instanceof Error
          ? error.message
          : String(error);
    throw new ExportFileError(
      line,
      `${what} is not a Loom state (version ${version}, upcast to ${STATE_VERSION}): ${why}`,
    );
  }
}

/** Paths of deltas kept between two parses of the replayed state; past them it is parsed whole. */
const TOUCHED_MOST = 100_000;

/** The deltas applied in place, or the turn refused at its line: they do not fit the state before it. */
function applied(
  state: UniverseState,
  deltas: readonly Delta[],
  turn: TurnLine,
  line: number,
): UniverseState {
  try {
    return applyDeltasInPlace(state, deltas);
  } catch (error) {
    throw new ExportFileError(
      line,
      `turn at position ${turn.position}: its deltas do not apply to the state before it: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * The deltas with copies of their object values: applied in place, a value becomes part of the
 * state, which later turns change, and the turn (kept by the caller) must not change with it.
 * `prev` is never applied and is not copied.
 */
function ownValues(deltas: readonly Delta[]): Delta[] {
  return deltas.map((delta) =>
    "value" in delta && delta.value !== null && typeof delta.value === "object"
      ? { ...delta, value: structuredClone(delta.value) }
      : delta,
  );
}

/** `,"state":` after the 64 hex digits of a snapshot line's checksum, as writers lay the line out. */
const STATE_MEMBER = ',"state":';
const CHECKSUM_MEMBER = '"checksum":"';

/**
 * A snapshot document's canonical text and its hash. A line written by an export holds the
 * document last, as that very text: when the text there is canonical and hashes to the checksum,
 * it is the text the checksum was taken of (nothing else hashes the same), and nothing is
 * serialized. Any other layout, or a text that does not match, is serialized canonically and
 * hashed; a document with a number JSON cannot carry (1e999 parses to Infinity) has no canonical
 * text and is refused at its line. `edited`: the line's text hashes to the checksum but is not
 * canonical (a space added, a key written twice), so the checksum is of no document's text.
 */
function documentOf(
  line: string,
  snapshot: SnapshotLine,
  number: number,
): { json: string; checksum: string; edited: boolean } {
  const expected = snapshot.checksum;
  const at = line.indexOf(CHECKSUM_MEMBER);
  const start = at + CHECKSUM_MEMBER.length + 64 + 1;
  const end = line.trimEnd().length - 1;
  let edited = false;
  if (at > 0 && line.startsWith(STATE_MEMBER, start) && line[end] === "}") {
    const json = line.slice(start + STATE_MEMBER.length, end);
    if (checksumOfJson(json) === expected) {
      // only one JSON value, canonical, reaches to the line's closing brace: then the line's
      // state (the last member) is what this text parses to
      if (isCanonicalJson(json)) return { json, checksum: expected, edited };
      edited = true;
    }
  }
  try {
    return { ...canonicalWithChecksum(snapshot.state), edited };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new ExportFileError(number, `snapshot at position ${snapshot.position}: ${error.message}`);
  }
}

/**
 * Whether two JSON values are equal (what equal canonical JSON means: members in any order,
 * `undefined` members absent), without serializing either.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], other[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let members = 0;
  for (const key in left) {
    if (left[key] === undefined) continue;
    members += 1;
    if (!Object.hasOwn(right, key) || !sameJson(left[key], right[key])) return false;
  }
  let others = 0;
  for (const key in right) if (right[key] !== undefined) others += 1;
  return members === others;
}

/**
 * The parent timeline's undos as seen at a reference export's branch point (`from`): its undo
 * turns and the turns they undid, at or before it. An undo of the file may name such a turn.
 */
export interface InheritedUndos {
  undos: readonly number[];
  undone: readonly number[];
}

export interface ReadOptions {
  /**
   * `turnsKept: false`: the caller is done with each turn before it asks for the next item, so a
   * turn's values may become part of the replayed state uncopied, once it has asked.
   */
  turnsKept: boolean;
  /** A reference export's parent's undos, when the caller has its parent (`loom import`). */
  inherited?: InheritedUndos;
}

/**
 * Why an undo turn at `position` may not name `target`, or null when it may: the target must be
 * an earlier turn, applied (not undone by an earlier undo) and no undo itself, as the rules have
 * it (rules/undo.ts); otherwise the turn would be marked undone with its deltas still applied. A
 * target at or before `from` is the parent timeline's: checked against `parent` when known.
 */
function undoRefusal(
  position: number,
  target: number | null,
  from: number,
  undos: ReadonlySet<number>,
  undoneBy: ReadonlyMap<number, number>,
  parent: { undos: ReadonlySet<number>; undone: ReadonlySet<number>; parentId: string | null },
): string | null {
  const undo = `undo at position ${position}`;
  if (target === null) return `${undo} names no turn it undid (input.targetPosition)`;
  if (!Number.isSafeInteger(target) || target < 1 || target >= position)
    return `${undo} names turn ${target}, which is not an earlier turn of the timeline`;
  const by = undoneBy.get(target);
  if (by !== undefined) return `${undo} names turn ${target}, which the undo at position ${by} already undid`;
  if (target > from)
    return undos.has(target) ? `${undo} names turn ${target}, which is an undo itself` : null;
  const of = `turn ${target} of the parent timeline${parent.parentId ? ` (universe ${parent.parentId})` : ""}`;
  if (parent.undos.has(target)) return `${undo} names ${of}, which is an undo itself`;
  if (parent.undone.has(target))
    return `${undo} names ${of}, which was undone before the branch point ${from}`;
  return null;
}

/**
 * Reads an export and checks it as it goes, holding one page of state: the header first and of a
 * known version; turns at consecutive positions from the header's `from`, their deltas applying
 * to the state before them, each undo naming an earlier turn that is applied and no undo; each
 * snapshot's document a state of this Loom (the state's schema, after upcasting), matching its
 * checksum and, once a first snapshot gave the state, equal to the state the turns before it
 * replay to (after upcasting, as jumps compare); save points (version 2) after the turns, each at
 * a position the timeline has reached, one name per player, text Postgres stores; an end line
 * whose counts agree, the state the timeline ends in a state of this Loom, and nothing after it.
 * Throws ExportFileError naming the first line that fails.
 */
export async function* readExport(
  lines: AsyncIterable<string>,
  /** The state at the header's `from`, when the caller has it (a reference export's branch point). */
  start: UniverseState | null = null,
  /** `turnsKept` and the parent's undos: see ReadOptions. */
  options: ReadOptions = { turnsKept: true },
): AsyncGenerator<ExportItem> {
  let number = 0;
  // what an undo may name: the file's undo turns, and the turns its undos undid (by which)
  const undos = new Set<number>();
  const undoneBy = new Map<number, number>();
  const inheritedUndos = new Set(options.inherited?.undos ?? []);
  const inheritedUndone = new Set(options.inherited?.undone ?? []);
  // where the turns applied since the replayed state was last parsed (a snapshot's, or the start
  // given) changed it: only that is parsed again, at the next snapshot and at the end
  let touched = new Set<string>();
  // past TOUCHED_MOST paths the state is parsed whole instead
  let wholly = false;
  const parsedAgain = (current: UniverseState | null) => {
    const problem =
      current === null ? null : wholly ? stateProblem(current) : touchedProblem(current, touched);
    touched = new Set();
    wholly = false;
    return problem;
  };
  let header: HeaderLine | null = null;
  let position = 0;
  let state: UniverseState | null = start === null ? null : structuredClone(start);
  let counts = { turns: 0, snapshots: 0, savePoints: 0 };
  const saveNames = new Set<string>();
  // character ids the turns' checks found good
  const characterIds = new Set<string>();
  let ended = false;
  for await (const text of lines) {
    number += 1;
    // trim() takes a byte order mark for a space: a file opening with one is told it at once
    if (number === 1 && text.charCodeAt(0) === 0xfeff)
      throw new ExportFileError(
        number,
        "starts with a byte order mark (U+FEFF), which no export writes: save the file as UTF-8 without one",
      );
    if (text.trim() === "") continue;
    if (ended) throw new ExportFileError(number, "follows the end line");
    const value = parse(text, number);
    if (!header) {
      const found = headerLineSchema.safeParse(value);
      const version = (value as { version?: unknown } | null)?.version;
      if (typeof version === "number" && !READABLE_VERSIONS.includes(version))
        throw new ExportFileError(
          number,
          `export format version ${version} is not known (this Loom reads ${READABLE_VERSIONS.join(", ")})`,
        );
      if (!found.success)
        throw new ExportFileError(
          number,
          `is not a ${EXPORT_FORMAT} header: ${found.error.issues[0]?.message ?? "invalid"}`,
        );
      const unbounded = headerProblem(found.data);
      if (unbounded) throw new ExportFileError(number, unbounded);
      header = found.data;
      position = header.from;
      yield { kind: "header", line: number, header };
      continue;
    }
    // the usual turn line is recognized as what zod would make of it; any other goes to zod
    const asIs = turnLineAsIs(value);
    const found = asIs ? ({ success: true, data: asIs } as const) : bodyLineSchema.safeParse(value);
    if (!found.success) {
      const issue = found.error.issues[0];
      throw new ExportFileError(
        number,
        `is not a turn, snapshot, save point or end line: ${issue ? `${issue.path.join(".")} ${issue.message}` : "invalid"}`,
      );
    }
    const item = found.data;
    if (item.type !== "save_point" && item.type !== "end" && counts.savePoints > 0)
      throw new ExportFileError(number, `a ${item.type} after the save points: they follow the last turn`);
    if (item.type === "turn") {
      if (item.position !== position + 1)
        throw new ExportFileError(number, `turn at position ${item.position} where ${position + 1} was due`);
      // an export names its own universe on every turn, its parent's past written out included
      if (item.universeId !== header.universe.id)
        throw new ExportFileError(
          number,
          `turn at position ${item.position}: its universeId ${shown(item.universeId)} is not the file's universe, ${header.universe.id}`,
        );
      const untrue =
        turnProblem(item, header.head, characterIds, header.redacted) ??
        (state !== null && !header.redacted ? absentCharacter(item, state) : null);
      if (untrue) throw new ExportFileError(number, untrue);
      // the plain search for a backslash-u rules out most lines before the pattern runs
      const unstorable =
        text.includes("\\u") && SUSPECT_ESCAPE.test(text) ? jsonValueProblem(item, STORABLE) : null;
      if (unstorable)
        throw new ExportFileError(
          number,
          `turn at position ${item.position}: ${unstorable}, which Loom never stores`,
        );
      if (item.kind === "undo") {
        const target = undoTargetOf(item);
        const refusal = undoRefusal(item.position, target, header.from, undos, undoneBy, {
          undos: inheritedUndos,
          undone: inheritedUndone,
          parentId: options.inherited ? header.universe.parentId : null,
        });
        if (refusal) throw new ExportFileError(number, refusal);
        undos.add(item.position);
        undoneBy.set(target!, item.position);
      }
      position = item.position;
      counts = { ...counts, turns: counts.turns + 1 };
      // applied in place, a delta's value becomes part of the state, which later deltas (of this
      // turn too) change: a turn the caller keeps gets copies; one it is done with once it asks
      // for the next line gives its values to the state then
      const deltas = state !== null && !header.redacted ? upgradeDeltas(item.deltas) : null;
      if (deltas && !wholly) {
        for (const delta of deltas) touched.add(delta.path);
        if (touched.size > TOUCHED_MOST) wholly = true;
      }
      if (deltas && options.turnsKept) state = applied(state!, ownValues(deltas), item, number);
      yield { kind: "turn", line: number, turn: item };
      if (deltas && !options.turnsKept) state = applied(state!, deltas, item, number);
    } else if (item.type === "snapshot") {
      if (item.position !== position)
        throw new ExportFileError(
          number,
          `snapshot at position ${item.position} where the timeline is at ${position}`,
        );
      // the document's canonical text is what its checksum is of: as a writer lays the line out,
      // that is the line's own text of it, hashed as it stands; otherwise it is serialized
      const { json, checksum: actual, edited } = documentOf(text, item, number);
      if (actual !== item.checksum)
        throw new ExportFileError(
          number,
          `snapshot at position ${item.position} does not match its checksum ${item.checksum} (its document hashes to ${actual}${edited ? "; the line's text of it hashes to the checksum but is not canonical JSON" : ""})`,
        );
      // a state of this Loom: the first parsed whole with the state's schema (or upcast, which
      // parses); a later one of the current version equals the replayed state, of which the parts
      // the turns since the last parse touched are parsed (the rest was parsed then)
      const what = `snapshot at position ${item.position}`;
      const untimely = fileTimeProblem(item.createdAt);
      if (untimely) throw new ExportFileError(number, `${what}: its createdAt ${untimely}`);
      const current = state !== null && item.state.version === STATE_VERSION;
      const stored = current ? (item.state as UniverseState) : stateOf(item.state, number, what);
      const unlike = item.position === 0 ? genesisProblem(stored) : null;
      if (unlike) throw new ExportFileError(number, `${what}, the genesis: ${unlike}`);
      // equal values have equal canonical text: compared as values, neither is serialized
      if (state && !sameJson(stored, state))
        throw new ExportFileError(
          number,
          `${what} differs from the state its turns replay to`,
          differingPaths(stored, state),
        );
      // (a document parsed whole, or upcast, starts the count of what was touched afresh)
      const problem = parsedAgain(current ? state! : null);
      if (problem)
        throw new ExportFileError(
          number,
          `${what} is not a Loom state (version ${STATE_VERSION}): ${problem}`,
        );
      counts = { ...counts, snapshots: counts.snapshots + 1 };
      // the replayed state equals the document and goes on; the first one comes from the
      // document, parsed afresh from its text, so the caller may keep `stored`
      state ??= upcast(JSON.parse(json) as Record<string, unknown>);
      yield { kind: "snapshot", line: number, snapshot: item, state: stored, json };
    } else if (item.type === "save_point") {
      if (header.version < 2)
        throw new ExportFileError(
          number,
          `a save point line in a version ${header.version} file (they came with version 2)`,
        );
      if (item.position > position)
        throw new ExportFileError(
          number,
          `save point "${item.name}" at position ${item.position} is beyond the timeline, which ends at ${position}`,
        );
      const unstorable = jsonValueProblem(item, STORABLE);
      if (unstorable)
        throw new ExportFileError(
          number,
          `save point ${JSON.stringify(item.name)}: ${unstorable}, which Loom never stores`,
        );
      const untimely = timeProblem(item.createdAt);
      if (untimely) throw new ExportFileError(number, `save point "${item.name}" was named ${untimely}`);
      const key = JSON.stringify([item.playerId, item.name]);
      if (saveNames.has(key))
        throw new ExportFileError(
          number,
          `player ${item.playerId} has a second save point named "${item.name}"`,
        );
      saveNames.add(key);
      counts = { ...counts, savePoints: counts.savePoints + 1 };
      yield { kind: "save_point", line: number, savePoint: item };
    } else {
      const savePoints = item.savePoints ?? 0;
      if (header.version >= 2 && item.savePoints === undefined)
        throw new ExportFileError(
          number,
          `end line without its savePoints count (version ${header.version})`,
        );
      if (
        item.turns !== counts.turns ||
        item.snapshots !== counts.snapshots ||
        savePoints !== counts.savePoints
      )
        throw new ExportFileError(
          number,
          `end line counts ${item.turns} turns, ${item.snapshots} snapshots and ${savePoints} save points, the file has ${counts.turns}, ${counts.snapshots} and ${counts.savePoints}`,
        );
      if (position !== header.head)
        throw new ExportFileError(
          number,
          `the timeline ends at position ${position}, the header's head is ${header.head}`,
        );
      // the state the timeline ends in, where a universe opens: turns since the last snapshot
      // may have made it what no state is
      const problem = state === null ? null : parsedAgain(state);
      if (problem)
        throw new ExportFileError(
          number,
          `the state at position ${position}, the head, as its turns replay to, is not a Loom state: ${problem}`,
        );
      ended = true;
      yield { kind: "end", line: number, ...counts };
    }
  }
  if (!header) throw new ExportFileError(Math.max(1, number), "the file is empty");
  if (!ended) throw new ExportFileError(number + 1, "the file ends without its end line (truncated)");
}
