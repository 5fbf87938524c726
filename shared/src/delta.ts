import { z } from "zod";
import { FORBIDDEN_KEYS, jsonValueSchema } from "./json-value.ts";

/**
 * A delta is one exact change to the state document, addressed by an RFC 6901 JSON Pointer.
 * `prev` is the value before the change, so every delta can be inverted without the state.
 *
 * - `set`       create or replace an object member, or replace an existing array element
 * - `unset`     delete an object member (`prev` = the deleted value)
 * - `increment` add `value` (a number) to a number (`prev` = the number before)
 * - `push`      insert `value` into an array at the index the path ends with (≤ length)
 * - `remove`    delete the array element at the index the path ends with (`prev` = that element)
 *
 * `push` and `remove` carry concrete indices so that each is the exact inverse of the other.
 */
export const deltaOpSchema = z.enum(["set", "unset", "increment", "push", "remove"]);
export type DeltaOp = z.infer<typeof deltaOpSchema>;

/** Pointer tokens a delta may have: the state document's own depth plus room for free-form values. */
export const POINTER_TOKENS_MAX = 24;

/** The longest path a delta may have, and its form: a JSON Pointer to a member. */
export const DELTA_PATH_MAX = 1_000;
export const DELTA_PATH_PATTERN = /^(\/[^/]*)+$/;

export const deltaSchema = z.object({
  op: deltaOpSchema,
  path: z
    .string()
    .max(DELTA_PATH_MAX)
    .regex(DELTA_PATH_PATTERN, "a JSON Pointer to a member, e.g. /characters/c1/fatePoints")
    .refine((path) => pointerProblem(path) === null, {
      error: (issue) => pointerProblem(String(issue.input)),
    }),
  value: jsonValueSchema.optional(),
  prev: jsonValueSchema.optional(),
});
export type Delta = z.infer<typeof deltaSchema>;

export type DeltaErrorCode = "invalid_path" | "path_not_found" | "wrong_type" | "invalid_value";

/** A delta that cannot apply to the state it was given: a bug or a corrupted log, never a rule. */
export class DeltaError extends Error {
  constructor(
    readonly code: DeltaErrorCode,
    readonly delta: Delta,
    message: string,
  ) {
    super(`${message} (${delta.op} ${delta.path})`);
    this.name = "DeltaError";
  }
}

/** Text holding one of FORBIDDEN_KEYS (as a token or inside one). */
const FORBIDDEN_NAME = new RegExp([...FORBIDDEN_KEYS].join("|"));

export function parsePointer(path: string): string[] {
  if (path === "" || path[0] !== "/") throw new TypeError(`not a JSON Pointer to a member: "${path}"`);
  const tokens = path.slice(1).split("/");
  return path.includes("~") ? tokens.map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~")) : tokens;
}

/** Why a pointer may not address a member of the state, or null. */
export function pointerProblem(path: string): string | null {
  if (!path.startsWith("/")) return null;
  // Every delta of every turn read or imported comes through here: a pointer with no escape and
  // no forbidden name anywhere in its text (the usual one) is checked where it stands, its tokens
  // counted by their slashes, none of them split out.
  if (!path.includes("~") && !FORBIDDEN_NAME.test(path)) {
    let tokens = 0;
    for (let at = 0; at !== -1; at = path.indexOf("/", at + 1)) tokens += 1;
    return tokens > POINTER_TOKENS_MAX ? `a path has at most ${POINTER_TOKENS_MAX} tokens` : null;
  }
  const tokens = parsePointer(path);
  if (tokens.length > POINTER_TOKENS_MAX) return `a path has at most ${POINTER_TOKENS_MAX} tokens`;
  const forbidden = tokens.find((token) => FORBIDDEN_KEYS.has(token));
  return forbidden === undefined ? null : `"${forbidden}" is not a member name`;
}

export function pointer(...tokens: Array<string | number>): string {
  return tokens.map((token) => `/${String(token).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

function arrayIndex(token: string, length: number, allowEnd: boolean, delta: Delta): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new DeltaError("invalid_path", delta, `"${token}" is not an array index`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) {
    throw new DeltaError("path_not_found", delta, `index ${index} is out of bounds (length ${length})`);
  }
  return index;
}

function shallowCopy(container: Container): Container {
  return Array.isArray(container) ? container.slice() : { ...container };
}

/** Applies one change to `parent` (already a private copy) at `key`. */
function applyAt(parent: Container, key: string, delta: Delta): void {
  if (Array.isArray(parent)) {
    if (delta.op === "push") {
      parent.splice(arrayIndex(key, parent.length, true, delta), 0, delta.value);
      return;
    }
    const index = arrayIndex(key, parent.length, false, delta);
    switch (delta.op) {
      case "set":
        parent[index] = delta.value;
        return;
      case "remove":
        parent.splice(index, 1);
        return;
      case "increment":
        parent[index] = incremented(parent[index], delta);
        return;
      case "unset":
        throw new DeltaError(
          "wrong_type",
          delta,
          "unset applies to object members; use remove for array elements",
        );
    }
  }
  const record = parent;
  const exists = Object.prototype.hasOwnProperty.call(record, key);
  switch (delta.op) {
    case "set":
      record[key] = delta.value;
      return;
    case "unset":
      if (!exists) throw new DeltaError("path_not_found", delta, `no member "${key}" to unset`);
      delete record[key];
      return;
    case "increment":
      if (!exists) throw new DeltaError("path_not_found", delta, `no member "${key}" to increment`);
      record[key] = incremented(record[key], delta);
      return;
    case "push":
    case "remove":
      throw new DeltaError("wrong_type", delta, `${delta.op} applies to array elements`);
  }
}

function incremented(current: unknown, delta: Delta): number {
  if (typeof current !== "number")
    throw new DeltaError("wrong_type", delta, "increment target is not a number");
  if (typeof delta.value !== "number" || !Number.isFinite(delta.value)) {
    throw new DeltaError("invalid_value", delta, "increment value is not a finite number");
  }
  const result = current + delta.value;
  // Infinity cannot be stored or checksummed: the universe could never be snapshotted again
  if (!Number.isFinite(result))
    throw new DeltaError("invalid_value", delta, "the result is not a finite number");
  return result;
}

/**
 * Applies deltas in order and returns the new state. The input is never mutated: only the
 * containers along each changed path are copied, the rest is shared with the input.
 */
export function applyDeltas<T>(state: T, deltas: readonly Delta[]): T {
  return apply(state, deltas, new WeakSet<object>());
}

/**
 * Applies deltas to a document the caller owns (freshly parsed), changing it in place. A frozen
 * container, one the document shares with other states (a snapshot's part), is copied instead,
 * as applyDeltas copies every one. Same results and errors as applyDeltas.
 */
export function applyDeltasInPlace<T>(state: T, deltas: readonly Delta[]): T {
  return apply(state, deltas, null);
}

/**
 * `owned`: the containers this call copied and may change; null when every container may be
 * changed but the frozen ones.
 */
function apply<T>(state: T, deltas: readonly Delta[], owned: WeakSet<object> | null): T {
  if (deltas.length === 0) return state;
  let root = state as unknown;
  if (!isContainer(root)) throw new TypeError("state must be an object");
  for (const delta of deltas) {
    const tokens = parsePointer(delta.path);
    // Assigning "__proto__" would swap an object's prototype instead of adding a member.
    if (tokens.includes("__proto__"))
      throw new DeltaError("invalid_path", delta, `"__proto__" is not a member name`);
    if (owned ? !owned.has(root as object) : Object.isFrozen(root)) {
      root = shallowCopy(root as Container);
      owned?.add(root as object);
    }
    let parent = root as Container;
    for (let i = 0; i < tokens.length - 1; i++) {
      const token = tokens[i]!;
      const child: unknown = Array.isArray(parent)
        ? parent[arrayIndex(token, parent.length, false, delta)]
        : Object.prototype.hasOwnProperty.call(parent, token)
          ? parent[token]
          : undefined;
      if (!isContainer(child)) {
        throw new DeltaError(
          child === undefined ? "path_not_found" : "wrong_type",
          delta,
          child === undefined ? `no member "${token}"` : `"${token}" is not an object or array`,
        );
      }
      let next = child;
      if (owned ? !owned.has(child) : Object.isFrozen(child)) {
        next = shallowCopy(child);
        owned?.add(next);
        if (Array.isArray(parent)) parent[Number(token)] = next;
        else parent[token] = next;
      }
      parent = next;
    }
    applyAt(parent, tokens[tokens.length - 1]!, delta);
  }
  return root as T;
}

/** The inverse of one delta: applying `d` then `invertDelta(d)` restores the state exactly. */
export function invertDelta(delta: Delta): Delta {
  switch (delta.op) {
    case "set":
      return delta.prev === undefined
        ? { op: "unset", path: delta.path, prev: delta.value }
        : { op: "set", path: delta.path, value: delta.prev, prev: delta.value };
    case "unset":
      return { op: "set", path: delta.path, value: delta.prev };
    case "increment": {
      const amount = delta.value as number;
      const prev = delta.prev as number;
      return { op: "increment", path: delta.path, value: -amount, prev: prev + amount };
    }
    case "push":
      return { op: "remove", path: delta.path, prev: delta.value };
    case "remove":
      return { op: "push", path: delta.path, value: delta.prev };
  }
}

/** The inverse of a list of deltas: each inverted, in reverse order. */
export function invertDeltas(deltas: readonly Delta[]): Delta[] {
  const inverse: Delta[] = [];
  for (let i = deltas.length - 1; i >= 0; i--) inverse.push(invertDelta(deltas[i]!));
  return inverse;
}

/** Reads the value at a JSON Pointer, or undefined when any step is missing. */
export function readPointer(state: unknown, path: string): unknown {
  let current = state;
  for (const token of parsePointer(path)) {
    if (!isContainer(current)) return undefined;
    current = Array.isArray(current)
      ? current[Number(token)]
      : Object.prototype.hasOwnProperty.call(current, token)
        ? current[token]
        : undefined;
  }
  return current;
}
