import { z } from "zod";

/**
 * Free-form values (a canon fact's value, a delta's value) are JSON, and only JSON that every
 * part of Loom can store and checksum the same way: finite numbers (canonical JSON has no
 * Infinity or NaN, and JSON.stringify would write them as null, so a replay would differ), plain
 * objects and arrays, and no key that JavaScript treats as special when assigned. Values from
 * clients are also bounded, so one message cannot build a value too deep or too large to handle.
 */
export const JSON_VALUE_LIMITS = {
  /** Nesting of a value sent by a client (a state document is at most 24 pointer tokens deeper). */
  depthMax: 16,
  /** Members and elements, counted through the whole value. */
  nodesMax: 2_000,
  stringMax: 8_000,
} as const;

/** Keys refused in free-form values: assigning them changes an object's prototype or shadows it. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export interface JsonValueBounds {
  depthMax: number;
  nodesMax: number;
  stringMax: number;
  /** A whole message may leave optional members `undefined` (msgpack has the value); JSON may not. */
  undefinedAllowed?: boolean;
}

/** No size bounds: what must hold of every value the state holds, whoever wrote it. */
export const STORABLE: JsonValueBounds = { depthMax: 64, nodesMax: Infinity, stringMax: Infinity };

/**
 * A whole message or request body, as decoded: its typed fields have their own schemas, and
 * this holds for all of it (text Postgres can store, finite numbers, no prototype keys).
 */
export const MESSAGE_BOUNDS: JsonValueBounds = {
  depthMax: 32,
  nodesMax: 20_000,
  stringMax: 100_000,
  undefinedAllowed: true,
};

/**
 * Text Postgres cannot store: NUL (refused in text and jsonb alike) and UTF-16 surrogates that
 * do not pair up (JSON.stringify writes them as escapes jsonb refuses).
 */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && !UNPAIRED_SURROGATE.test(text);
}

const UNSTORABLE = new RegExp(`\\u0000|${UNPAIRED_SURROGATE.source}`, "g");

/** `text` as Postgres stores it: each NUL and unpaired surrogate becomes U+FFFD. */
export function storableText(text: string): string {
  return isStorableText(text) ? text : text.replace(UNSTORABLE, "\ufffd");
}

/**
 * What keeps `value` from being a storable JSON value within `bounds`, or null. Iterative, so a
 * hostile nesting cannot overflow the stack; stops at the first problem.
 */
export function jsonValueProblem(value: unknown, bounds: JsonValueBounds = JSON_VALUE_LIMITS): string | null {
  const stack: Array<{ value: unknown; depth: number; at: string }> = [{ value, depth: 0, at: "" }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: current, depth, at } = stack.pop()!;
    if (++nodes > bounds.nodesMax) return `more than ${bounds.nodesMax} members and elements`;
    const where = at === "" ? "the value" : at;
    if (current === null || typeof current === "boolean") continue;
    if (current === undefined && bounds.undefinedAllowed) continue;
    if (typeof current === "number") {
      if (!Number.isFinite(current)) return `${where} is ${String(current)}, not a finite number`;
      continue;
    }
    if (typeof current === "string") {
      if (current.length > bounds.stringMax) return `${where} is longer than ${bounds.stringMax} characters`;
      if (!isStorableText(current)) return `${where} holds a NUL or an unpaired surrogate`;
      continue;
    }
    if (typeof current !== "object")
      return `${where} is ${typeof current === "undefined" ? "undefined" : `a ${typeof current}`}, not JSON`;
    if (depth >= bounds.depthMax) return `${where} is nested deeper than ${bounds.depthMax} levels`;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++)
        stack.push({ value: current[i], depth: depth + 1, at: `${at}/${i}` });
      continue;
    }
    const prototype = Object.getPrototypeOf(current) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return `${where} is not a plain object`;
    for (const key of Object.keys(current)) {
      if (FORBIDDEN_KEYS.has(key)) return `"${key}" is not allowed as a key`;
      if (key.length > bounds.stringMax || !isStorableText(key))
        return `a key of ${where} is too long or holds a NUL or an unpaired surrogate`;
      stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1, at: `${at}/${key}` });
    }
  }
  return null;
}

function jsonSchema(bounds: JsonValueBounds) {
  return z.unknown().superRefine((value, ctx) => {
    const problem = jsonValueProblem(value, bounds);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** A free-form value a client sends: storable JSON, bounded (JSON_VALUE_LIMITS). */
export const jsonValueSchema = jsonSchema(JSON_VALUE_LIMITS);

/** A free-form value in the state: storable JSON, whatever its size. */
export const storableJsonSchema = jsonSchema(STORABLE);
