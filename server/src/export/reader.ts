import { createReadStream } from "node:fs";
import {
  applyDeltasInPlace,
  canonicalWithChecksum,
  checksumOfJson,
  differingPaths,
  jsonValueProblem,
  STATE_VERSION,
  STORABLE,
  upcastState,
  upgradeDeltas,
  type Delta,
  type UniverseState,
} from "@loom/shared";
import {
  bodyLineSchema,
  EXPORT_FORMAT,
  headerLineSchema,
  READABLE_VERSIONS,
  type HeaderLine,
  type SavePointLine,
  type SnapshotLine,
  type TurnLine,
} from "./format.ts";
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
 * The lines of a file, read a chunk at a time: split at `\n`, a `\r` before it dropped (a file
 * saved with Windows line ends reads the same). A line of JSON holds no raw line break, so this
 * is the whole of what readline would do here, at a fraction of its cost a line. The lines of a
 * chunk are handed out without returning to the event loop: chunks of 64 KB (some 40 turns) let
 * it run often enough to keep feeding an import's COPY to the database; with 1 MB chunks the
 * database waited for its rows.
 */
export async function* fileLines(path: string): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      yield text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== "") yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}

function parse(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ExportFileError(line, "is not JSON");
  }
}

function upcast(document: Record<string, unknown>): UniverseState {
  return document.version === STATE_VERSION ? (document as UniverseState) : upcastState(document);
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
 * document last, as that very text: when the text there hashes to the checksum, it is the text
 * the checksum was taken of (nothing else hashes the same), and nothing is serialized. Any other
 * layout, or a text that does not match, is serialized canonically and hashed.
 */
function documentOf(line: string, document: unknown, expected: string): { json: string; checksum: string } {
  const at = line.indexOf(CHECKSUM_MEMBER);
  const start = at + CHECKSUM_MEMBER.length + 64 + 1;
  const end = line.trimEnd().length - 1;
  if (at > 0 && line.startsWith(STATE_MEMBER, start) && line[end] === "}") {
    const json = line.slice(start + STATE_MEMBER.length, end);
    if (checksumOfJson(json) === expected) return { json, checksum: expected };
  }
  return canonicalWithChecksum(document);
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
 * Reads an export and checks it as it goes, holding one page of state: the header first and of a
 * known version; turns at consecutive positions from the header's `from`; each snapshot's document
 * matching its checksum and, once a first snapshot gave the state, equal to the state the turns
 * before it replay to (after upcasting, as jumps compare); save points (version 2) after the
 * turns, each at a position the timeline has reached, one name per player; an end line whose
 * counts agree, and nothing after it. Throws ExportFileError naming the first line that fails.
 */
export async function* readExport(
  lines: AsyncIterable<string>,
  /** The state at the header's `from`, when the caller has it (a reference export's branch point). */
  start: UniverseState | null = null,
  /**
   * `turnsKept: false`: the caller is done with each turn before it asks for the next item, so a
   * turn's values may become part of the replayed state uncopied, once it has asked.
   */
  options: { turnsKept: boolean } = { turnsKept: true },
): AsyncGenerator<ExportItem> {
  let number = 0;
  let header: HeaderLine | null = null;
  let position = 0;
  let state: UniverseState | null = start === null ? null : structuredClone(start);
  let counts = { turns: 0, snapshots: 0, savePoints: 0 };
  const saveNames = new Set<string>();
  let ended = false;
  for await (const text of lines) {
    number += 1;
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
      // the plain search for a backslash-u rules out most lines before the pattern runs
      const unstorable =
        text.includes("\\u") && SUSPECT_ESCAPE.test(text) ? jsonValueProblem(item, STORABLE) : null;
      if (unstorable)
        throw new ExportFileError(
          number,
          `turn at position ${item.position}: ${unstorable}, which Loom never stores`,
        );
      position = item.position;
      counts = { ...counts, turns: counts.turns + 1 };
      // applied in place, a delta's value becomes part of the state, which later deltas (of this
      // turn too) change: a turn the caller keeps gets copies; one it is done with once it asks
      // for the next line gives its values to the state then
      const replayed = state !== null && !header.redacted;
      if (replayed && options.turnsKept)
        state = applyDeltasInPlace(state, ownValues(upgradeDeltas(item.deltas)));
      yield { kind: "turn", line: number, turn: item };
      if (replayed && !options.turnsKept) state = applyDeltasInPlace(state, upgradeDeltas(item.deltas));
    } else if (item.type === "snapshot") {
      if (item.position !== position)
        throw new ExportFileError(
          number,
          `snapshot at position ${item.position} where the timeline is at ${position}`,
        );
      // the document's canonical text is what its checksum is of: as a writer lays the line out,
      // that is the line's own text of it, hashed as it stands; otherwise it is serialized
      const { json, checksum: actual } = documentOf(text, item.state, item.checksum);
      if (actual !== item.checksum)
        throw new ExportFileError(
          number,
          `snapshot at position ${item.position} does not match its checksum ${item.checksum} (its document hashes to ${actual})`,
        );
      const stored = upcast(item.state);
      // equal values have equal canonical text: compared as values, neither is serialized
      if (state && !sameJson(stored, state))
        throw new ExportFileError(
          number,
          `snapshot at position ${item.position} differs from the state its turns replay to`,
          differingPaths(stored, state),
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
      ended = true;
      yield { kind: "end", line: number, ...counts };
    }
  }
  if (!header) throw new ExportFileError(Math.max(1, number), "the file is empty");
  if (!ended) throw new ExportFileError(number + 1, "the file ends without its end line (truncated)");
}
