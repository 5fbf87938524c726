import { z } from "zod";
import { stateSchema, type UniverseState } from "@loom/shared";

/** A schema's first complaint: where it is (a JSON Pointer below `at`) and what. */
export function firstIssue(error: z.ZodError, at = ""): string {
  const issue = error.issues[0];
  if (!issue) return `${at || "the document"}: invalid`;
  const where = `${at}${issue.path.map((key) => `/${String(key)}`).join("")}`;
  return `${where || "the document"}: ${issue.message}`;
}

/** Why `state` is no state of this Loom (the state's schema, whole), or null. */
export function stateProblem(state: unknown): string | null {
  const parsed = stateSchema.safeParse(state);
  return parsed.success ? syncedKeyProblem(parsed.data) : firstIssue(parsed.error);
}

/**
 * The records the room's synced state holds too, in maps that index their keys in a plain object
 * (where "valueOf" finds a function, and every patch of the room fails). The rules never make
 * such a key (recordable.ts refuses a game master's); a state from a file is held to it here, not
 * by the state's schema, which the rules read too: a timeline recorded before that refusal still
 * replays.
 */
const SYNCED = [
  { at: "/characters", of: (state: UniverseState) => state.characters },
  { at: "/scene/aspects", of: (state: UniverseState) => state.scene.aspects },
] as const;

/** A character or scene aspect kept under a name every object inherits, or null. */
function syncedKeyProblem(state: UniverseState): string | null {
  for (const { at, of } of SYNCED) {
    const records: unknown = of(state);
    if (typeof records !== "object" || records === null) continue;
    for (const key of Object.keys(records))
      if (key in Object.prototype) return `${at}/${key}: a name every object inherits cannot be a key here`;
  }
  return null;
}

/** Whether a delta at `path` may have put a key into a record SYNCED names (the root holds them all). */
function touchesSynced(path: string): boolean {
  return SYNCED.some(({ at }) => path === at || path.startsWith(`${at}/`) || at.startsWith(`${path}/`));
}

/**
 * What a schema is to a path followed through it: an object (its members' schemas), a record (its
 * members' schema, and whether a key needs a parse), or where the path stops (anything else: an
 * array, a union, a scalar). Worked out once a schema: zod's classes answer `instanceof` by
 * looking up their traits, which a walk a token would otherwise pay several times over.
 */
type Kind =
  | { kind: "object"; shape: Record<string, z.ZodType> }
  | { kind: "record"; member: z.ZodType; key: z.ZodType | null }
  | { kind: "stop" };

const kinds = new WeakMap<z.ZodType, Kind>();

function kindOf(schema: z.ZodType): Kind {
  let kind = kinds.get(schema);
  if (kind) return kind;
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable || inner instanceof z.ZodDefault)
    inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodObject) kind = { kind: "object", shape: inner.shape };
  else if (inner instanceof z.ZodRecord) {
    const key = inner.keyType as z.ZodType;
    const anyKey = key instanceof z.ZodString && (key._zod.def.checks?.length ?? 0) === 0;
    kind = { kind: "record", member: inner.valueType as z.ZodType, key: anyKey ? null : key };
  } else kind = { kind: "stop" };
  kinds.set(schema, kind);
  return kind;
}

/** A member's name in a JSON Pointer, as written there (RFC 6901: `~1` for `/`, `~0` for `~`). */
const unescaped = (raw: string) =>
  raw.includes("~") ? raw.replaceAll("~1", "/").replaceAll("~0", "~") : raw;

/**
 * Why a state that was a state of this Loom before deltas at `paths` were applied to it is none
 * now, or null: only what those deltas can have changed is parsed. Each path is followed through
 * the schema's objects and records as far as both the schema and the document go, and the value
 * there is parsed with the schema there: a member a delta set, changed or unset (an object's
 * required member must still be there), or where the path stops being followed (an array, parsed
 * whole; a union; a free-form value; a member replaced by something that is no object). A
 * record's member that is gone needs nothing. What the deltas did not touch is as it was; the
 * state's schema has no refinement above a member, so the parts parsed are the whole question.
 * Costs the size of what was touched, where a parse of the whole state costs its size (a
 * snapshot's worth of turns touches a small part of a large world).
 */
export function touchedProblem(state: UniverseState, paths: Iterable<string>): string | null {
  // where a path was followed to, as the text of the path up to there (its JSON Pointer)
  const parsed = new Set<string>();
  for (const path of paths) {
    if (path[0] !== "/") return `${path}: not a JSON Pointer`;
    let schema: z.ZodType = stateSchema;
    let value: unknown = state;
    let end = 0;
    let gone = false;
    while (end < path.length) {
      // an array is parsed whole: its elements move (push, remove), so an index a delta named
      // may hold another element by the time the state is parsed
      if (typeof value !== "object" || value === null || Array.isArray(value)) break;
      const after = path.indexOf("/", end + 1);
      const stop = after === -1 ? path.length : after;
      const token = unescaped(path.slice(end + 1, stop));
      const kind = kindOf(schema);
      let next: z.ZodType | undefined;
      if (kind.kind === "object") next = Object.hasOwn(kind.shape, token) ? kind.shape[token] : undefined;
      else if (kind.kind === "record") {
        if (kind.key && !kind.key.safeParse(token).success)
          return `${path.slice(0, stop)}: not a key the state has there`;
        next = kind.member;
      }
      if (!next) break;
      const member = Object.hasOwn(value, token) ? (value as Record<string, unknown>)[token] : undefined;
      // a record's member that is gone leaves nothing to parse
      if (member === undefined && kind.kind === "record") {
        gone = true;
        break;
      }
      schema = next;
      value = member;
      end = stop;
    }
    if (gone) continue;
    const at = path.slice(0, end);
    if (parsed.has(at)) continue;
    parsed.add(at);
    const result = schema.safeParse(value);
    if (!result.success) return firstIssue(result.error, at);
  }
  for (const path of parsed) if (touchesSynced(path)) return syncedKeyProblem(state);
  return null;
}
