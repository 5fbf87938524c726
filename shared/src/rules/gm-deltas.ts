import { z } from "zod";
import { bucketOf, misplacedId } from "../buckets.ts";
import { applyDeltas, DeltaError, parsePointer, pointer, readPointer, type Delta } from "../delta.ts";
import { reject, type Rejection } from "../rejection.ts";
import { stateSchema, type UniverseState } from "../state.ts";
import { upgradeDelta } from "../upgrade.ts";
import { BUCKETED_RECORDS, bucketedMember, recordsUnder, type BucketedRecord } from "../world-records.ts";

/** The schema of the member at `tokens`, as deep as the state schema describes it. */
function schemaAt(tokens: readonly string[]): { schema: z.ZodType; depth: number } {
  let schema: z.ZodType = stateSchema;
  let depth = 0;
  for (const token of tokens) {
    while (
      schema instanceof z.ZodNullable ||
      schema instanceof z.ZodOptional ||
      schema instanceof z.ZodDefault
    ) {
      schema = schema.unwrap() as z.ZodType;
    }
    let next: z.ZodType | undefined;
    if (schema instanceof z.ZodObject)
      next = Object.prototype.hasOwnProperty.call(schema.shape, token)
        ? (schema.shape as Record<string, z.ZodType>)[token]
        : undefined;
    else if (schema instanceof z.ZodRecord) next = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) next = schema.element as z.ZodType;
    if (!next) break;
    schema = next;
    depth += 1;
  }
  return { schema, depth };
}

/**
 * Checks the part of the state a delta touched against the state schema: the member itself when
 * its parent is a record or an array, the whole parent when it is an object (so an `unset` of a
 * required field is caught). Returns what is wrong, or null.
 */
function validateTouched(state: UniverseState, path: string): string | null {
  const tokens = parsePointer(path);
  if (tokens[0] === "version") return "the state version cannot be changed by a turn";
  const misplaced = misplacedMember(state, tokens);
  if (misplaced) return misplaced;
  const parentTokens = tokens.slice(0, -1);
  const parent = schemaAt(parentTokens);
  if (parent.depth < parentTokens.length) {
    // Inside a free-form member (a canon fact's value): anything JSON goes.
    return parent.schema instanceof z.ZodUnknown ? null : `${path} is not part of the state document`;
  }
  let schema = parent.schema;
  while (schema instanceof z.ZodNullable || schema instanceof z.ZodOptional)
    schema = schema.unwrap() as z.ZodType;
  let value: unknown;
  if (schema instanceof z.ZodObject) {
    if (!Object.prototype.hasOwnProperty.call(schema.shape, tokens[tokens.length - 1]!)) {
      return `${path} is not a member of the state document`;
    }
    value = parentTokens.length === 0 ? state : readPointer(state, pointer(...parentTokens));
  } else if (schema instanceof z.ZodRecord || schema instanceof z.ZodArray) {
    value = readPointer(state, path);
    if (value === undefined) return null;
    schema = schemaAt(tokens).schema;
  } else {
    return `${path} is not part of the state document`;
  }
  if (parentTokens.length === 0 && schema === stateSchema) {
    const key = tokens[0]!;
    const member = (stateSchema.shape as Record<string, z.ZodType>)[key]!;
    const result = member.safeParse((state as Record<string, unknown>)[key]);
    return result.success ? null : `${path}: ${result.error.issues[0]?.message ?? "invalid"}`;
  }
  const result = schema.safeParse(value);
  return result.success ? null : `${path}: ${result.error.issues[0]?.message ?? "invalid"}`;
}

/**
 * A member of a bucketed record (a canon fact, an NPC, a location, a quest) must sit in the bucket
 * its id hashes to, or readers (world-records.ts) would never find it: checked for a delta
 * addressing one member, and for one replacing a bucket or more.
 */
function misplacedMember(state: UniverseState, tokens: readonly string[]): string | null {
  const named = bucketedMember(tokens);
  if (named?.id !== undefined)
    return named.bucket === bucketOf(named.id) ? null : misplaced(named.record, named.id);
  for (const record of named ? [named.record] : recordsUnder(tokens)) {
    // read by pointer: a delta may have taken away what holds the buckets (the schema refuses that)
    const id = misplacedId(readPointer(state, pointer(...BUCKETED_RECORDS[record])));
    if (id !== null) return misplaced(record, id);
  }
  return null;
}

const NAMES: Record<BucketedRecord, string> = {
  canonFacts: "canon fact",
  npcs: "NPC",
  locations: "location",
  quests: "quest",
};

function misplaced(record: BucketedRecord, id: string): string {
  return `${NAMES[record]} ${id} belongs in bucket ${bucketOf(id)}`;
}

/** A delta as the log records it: `prev` read from the state it applies to, whatever the sender wrote. */
function withPrev(state: UniverseState, delta: Delta): Delta {
  const current = readPointer(state, delta.path);
  switch (delta.op) {
    case "set":
      return current === undefined
        ? { op: "set", path: delta.path, value: delta.value }
        : { op: "set", path: delta.path, value: delta.value, prev: current };
    case "unset":
    case "remove":
      return { op: delta.op, path: delta.path, prev: current };
    case "increment":
      return { op: "increment", path: delta.path, value: delta.value, prev: current };
    case "push":
      return { op: "push", path: delta.path, value: delta.value };
  }
}

/**
 * Takes deltas written by a game master (world events, retcons): records each with its true
 * `prev` so it can be undone, applies them in order, and checks the result against the schema.
 * A delta that does not apply or breaks the document is an `invalid_action`, never an exception.
 * A fact may be addressed as `/canon/facts/<id>`, an NPC as `/world/npcs/<id>`, a location as
 * `/world/locations/<id>` and a quest as `/quests/<id>` (their addresses before they were
 * bucketed, and the ones a game master can write without knowing the bucketing): each is recorded
 * in its bucket.
 */
export function recordGmDeltas(
  state: UniverseState,
  deltas: readonly Delta[],
): { deltas: Delta[]; state: UniverseState } | Rejection {
  const recorded: Delta[] = [];
  let current = state;
  for (const written of deltas) {
    const exact = withPrev(current, upgradeDelta(written));
    try {
      current = applyDeltas(current, [exact]);
    } catch (error) {
      if (error instanceof DeltaError)
        return reject(
          error.code === "invalid_value" ? "invalid_value" : "invalid_action",
          `delta does not apply: ${error.message}`,
        );
      throw error;
    }
    const problem = validateTouched(current, exact.path);
    if (problem) return reject("invalid_action", `delta breaks the state: ${problem}`);
    recorded.push(exact);
  }
  const moved = ownerChanged(state, current);
  if (moved) return reject("invalid_action", moved);
  return { deltas: recorded, state: current };
}

/**
 * A character stays its player's: who owns it decides who reads its private notes and plays its
 * runs, and the rooms and the API take that from the player who made it. Said, or null.
 */
function ownerChanged(before: UniverseState, after: UniverseState): string | null {
  if (before.characters === after.characters) return null;
  // one taken out and set again, under another player, would change its owner in two turns
  for (const id of Object.keys(after.characters)) {
    if (!Object.prototype.hasOwnProperty.call(before.characters, id))
      return `a character enters the universe with its player's run, not by a turn: ${id} is not here`;
  }
  for (const [id, character] of Object.entries(before.characters)) {
    const now = Object.prototype.hasOwnProperty.call(after.characters, id) ? after.characters[id] : undefined;
    // its stress, consequences and notes would be lost, and its player's next join would set the
    // sheet in again as if it were new
    if (now === undefined)
      return `a character stays in the universe once it has entered: ${id} cannot be taken out by a turn`;
    if (now.playerId !== character.playerId)
      return `a character's player cannot be changed by a turn: ${id} stays ${character.playerId}'s`;
  }
  return null;
}
