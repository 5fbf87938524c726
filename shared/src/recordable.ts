import { DELTA_PATH_MAX, DELTA_PATH_PATTERN, parsePointer, pointerProblem, type Delta } from "./delta.ts";
import { JSON_VALUE_LIMITS, jsonValueProblem } from "./json-value.ts";
import { reject, RejectionCode, type Rejection } from "./rejection.ts";
import type { Decision } from "./rules/context.ts";
import type { UniverseState } from "./state.ts";
import { BUCKETED_RECORDS } from "./world-records.ts";

/**
 * A turn is kept as long as its universe: exported and imported again, served by the API and
 * replayed, each of which reads its deltas with `deltaSchema` (a path of at most DELTA_PATH_MAX
 * characters and POINTER_TOKENS_MAX tokens, values and `prev` within JSON_VALUE_LIMITS). A turn
 * acknowledged outside those bounds would make its universe one that no export brings back.
 *
 * Checked as a command is submitted (the authority, after the rules decided it), not by the
 * rules: a turn recorded before the check still decides, and replays, as it did.
 */

/** The longest id of a record a game master's deltas write: the rules build paths from it. */
export const RECORD_ID_MAX = 200;

/** Why a recorded delta is none a turn may hold (deltaSchema), or null. */
export function recordedDeltaProblem(delta: Delta): string | null {
  const { path } = delta;
  if (path.length > DELTA_PATH_MAX) return `the path is longer than ${DELTA_PATH_MAX} characters`;
  if (!DELTA_PATH_PATTERN.test(path)) return "the path is no JSON Pointer to a member";
  const pointer = pointerProblem(path);
  if (pointer) return pointer;
  for (const member of ["value", "prev"] as const) {
    const value = delta[member];
    if (value === undefined) continue;
    const problem = jsonValueProblem(value, JSON_VALUE_LIMITS);
    if (problem) return `its ${member}: ${problem}`;
  }
  return null;
}

/**
 * Collections whose members the rules address by their `id` and, some of them, record whole
 * later (a removed NPC, a dropped happening, a replaced fact): `*` stands for any bucket.
 * `synced`: the room's synced state holds them too, in maps keyed by their ids.
 */
const RECORDS: ReadonlyArray<{ what: string; at: readonly string[]; synced?: true }> = [
  { what: "character", at: ["characters"], synced: true },
  { what: "scene aspect", at: ["scene", "aspects"], synced: true },
  { what: "faction", at: ["world", "factions"] },
  { what: "canon fact", at: [...BUCKETED_RECORDS.canonFacts, "*"] },
  { what: "NPC", at: [...BUCKETED_RECORDS.npcs, "*"] },
  { what: "location", at: [...BUCKETED_RECORDS.locations, "*"] },
  { what: "quest", at: [...BUCKETED_RECORDS.quests, "*"] },
];

function own(container: unknown, key: string): unknown {
  return typeof container === "object" && container !== null && Object.hasOwn(container, key)
    ? (container as Record<string, unknown>)[key]
    : undefined;
}

/** The containers at `at` (a `*` token being every key there) under `from`. */
function containersAt(from: unknown, at: readonly string[]): unknown[] {
  let found = [from];
  for (const token of at) {
    const next: unknown[] = [];
    for (const container of found) {
      if (token !== "*") next.push(own(container, token));
      else if (typeof container === "object" && container !== null)
        for (const key of Object.keys(container)) next.push(own(container, key));
    }
    found = next.filter((container) => typeof container === "object" && container !== null);
  }
  return found;
}

/** The members of a collection a path wrote: the one it reaches into, or all those below it. */
function membersWritten(state: UniverseState, tokens: readonly string[], at: readonly string[]) {
  const shared = Math.min(tokens.length, at.length);
  for (let i = 0; i < shared; i++) if (at[i] !== "*" && at[i] !== tokens[i]) return [];
  if (tokens.length > at.length) {
    const [container] = containersAt(state, tokens.slice(0, at.length));
    const key = tokens[at.length]!;
    const member = own(container, key);
    return member === undefined ? [] : [[key, member] as const];
  }
  const below = containersAt(state, tokens).flatMap((top) => containersAt(top, at.slice(tokens.length)));
  return below.flatMap((container) =>
    Object.keys(container as object).map((key) => [key, own(container, key)] as const),
  );
}

type Problem = { code: RejectionCode; message: string };

/**
 * What a game master's deltas leave in a record that the rules could not address or record
 * later, or null: a member whose key is not its id (the rules find it by one and write by the
 * other), an id too long for the paths built from it (or, for one the room syncs, named like a
 * member of every object), or a member too large to record whole.
 */
function recordProblem(state: UniverseState, path: string): Problem | null {
  const tokens = parsePointer(path);
  for (const { what, at, synced } of RECORDS) {
    for (const [key, member] of membersWritten(state, tokens, at)) {
      if (key.length > RECORD_ID_MAX)
        return {
          code: RejectionCode.InvalidValue,
          message: `a ${what}'s id is longer than ${RECORD_ID_MAX} characters`,
        };
      // the room's synced maps index their keys in a plain object, where "valueOf" finds a
      // function: every patch of the room would fail from then on
      if (synced && key in Object.prototype)
        return {
          code: RejectionCode.InvalidAction,
          message: `"${key}" is a name every object inherits: no ${what} may be kept under it`,
        };
      const id = own(member, "id");
      if (id !== key)
        return {
          code: RejectionCode.InvalidAction,
          message: `the ${what} at "${key}" has the id ${JSON.stringify(id)}: a record's key is its id`,
        };
      const problem = jsonValueProblem(member, JSON_VALUE_LIMITS);
      if (problem)
        return {
          code: RejectionCode.InvalidValue,
          message: `the ${what} "${key}" would be too large to record whole: ${problem}`,
        };
    }
  }
  return null;
}

/** Whether the decision puts something new on the scene (an aspect, a boost). */
function growsScene(decision: Decision): boolean {
  return decision.deltas.some(
    (delta) => delta.path.startsWith("/scene/") && (delta.op === "push" || delta.prev === undefined),
  );
}

const GM_DELTAS: ReadonlySet<string> = new Set(["retcon", "world_event"]);

/**
 * Why a decided turn may not be acknowledged, or null. `after` is the state it leads to. Every
 * turn's deltas must be deltas an export imports; a game master's raw deltas must leave every
 * record they wrote addressable by its id and small enough to record whole; and the scene must
 * stay small enough that opening the next one (which records it whole) can be recorded.
 */
export function unrecordableRefusal(
  command: { kind: string },
  decision: Decision,
  after: UniverseState,
): Rejection | null {
  for (const delta of decision.deltas) {
    const problem = recordedDeltaProblem(delta);
    // a scene grown past the bound before it was checked: a new scene would record it whole
    if (problem && delta.path === "/scene" && recordedDeltaProblem({ ...delta, prev: null }) === null)
      return reject(
        RejectionCode.InvalidValue,
        `the scene holds more than a turn can record (${problem}): a game master removes some of its aspects first`,
      );
    if (problem)
      return reject(
        RejectionCode.InvalidValue,
        `the turn could not be recorded (${delta.op} ${shortened(delta.path)}): ${problem}`,
      );
  }
  const byGm = GM_DELTAS.has(command.kind);
  if (byGm)
    for (const delta of decision.deltas) {
      const problem = recordProblem(after, delta.path);
      if (problem)
        return reject(
          problem.code,
          `delta breaks the state (${delta.op} ${shortened(delta.path)}): ${problem.message}`,
        );
    }
  if (byGm ? decision.deltas.some((delta) => delta.path.startsWith("/scene")) : growsScene(decision)) {
    const problem = jsonValueProblem(after.scene, JSON_VALUE_LIMITS);
    if (problem)
      return reject(
        RejectionCode.InvalidValue,
        `the scene holds as much as a turn can record (${problem}): a game master opens a new scene`,
      );
  }
  return null;
}

function shortened(path: string): string {
  return path.length > 120 ? `${path.slice(0, 119)}…` : path;
}
