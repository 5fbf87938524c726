import {
  actorKindSchema,
  DELTA_PATH_MAX,
  DELTA_PATH_PATTERN,
  deltaOpSchema,
  isStorableText,
  JSON_VALUE_LIMITS,
  jsonValueProblem,
  narrationSchema,
  outcomeSchema,
  pointerProblem,
  resolutionSchema,
  tellingSchema,
  turnEventSchema,
  turnKindSchema,
  turnStatusSchema,
  deltaSchema,
} from "@loom/shared";
import type { z } from "zod";
import { turnLineSchema, type TurnLine } from "./format.ts";

/**
 * The turn line as `bodyLineSchema` would give it back, without running zod, when the parsed line
 * is already in the form zod's output takes: every member the schema names and no other, each of
 * its type and within its bounds, in the schema's order inside the turn (zod writes its output's
 * members in the schema's order, fills in defaults and drops members it does not know), so that
 * zod's output would serialize to the same text as the line's own values. Anything else is null
 * and goes to zod, which stays the one judge of what a turn line is: this only recognizes, among
 * the lines zod takes, the usual ones (an export's), and refuses nothing. `format.test.ts` holds
 * it to zod's answers.
 */
export function turnLineAsIs(value: unknown): TurnLine | null {
  return isTurn(value) ? (value as TurnLine) : null;
}

type Check = (value: unknown) => boolean;
type Checks<Shape> = { readonly [K in keyof Shape]-?: Check };

const isString: Check = (value) => typeof value === "string";
const isBoolean: Check = (value) => typeof value === "boolean";
/** zod's `.int()`: a safe integer. */
const isInt: Check = (value) => Number.isSafeInteger(value);
const isNullableString: Check = (value) => value === null || typeof value === "string";
const nullable =
  (check: Check): Check =>
  (value) =>
    value === null || check(value);
const arrayOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(check);
const oneOf = (options: readonly unknown[]): Check => {
  const set = new Set(options);
  return (value) => set.has(value);
};
/** An object (JSON.parse makes only plain ones), not an array. */
const isObject: Check = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
/**
 * A record of string keys as zod gives it back: zod's records assign their members, and
 * assigning `__proto__` sets the prototype instead of adding a member.
 */
const isRecord: Check = (value) => isObject(value) && !Object.hasOwn(value as object, "__proto__");
const recordOf =
  (check: Check): Check =>
  (value) =>
    isRecord(value) && Object.values(value as object).every(check);

/**
 * The object `checks` describe, its members in the schema's order (`order`); optional ones
 * (`optional`) may be absent, none may be added.
 */
interface ObjectChecks {
  order: readonly string[];
  optional: ReadonlySet<string>;
  checks: Readonly<Record<string, Check>>;
}

function objectChecks<Shape extends Record<string, z.ZodType>>(
  shape: Shape,
  checks: Checks<Shape>,
): ObjectChecks {
  const order = Object.keys(shape);
  const optional = new Set(order.filter((key) => shape[key]!.safeParse(undefined).success));
  return { order, optional, checks: checks };
}

function isObjectOf(value: unknown, object: ObjectChecks): boolean {
  if (!isObject(value)) return false;
  let at = 0;
  const { order, optional, checks } = object;
  for (const key in value as object) {
    while (at < order.length && order[at] !== key && optional.has(order[at]!)) at += 1;
    if (at === order.length || order[at] !== key) return false;
    if (!checks[key]!((value as Record<string, unknown>)[key])) return false;
    at += 1;
  }
  while (at < order.length && optional.has(order[at]!)) at += 1;
  return at === order.length;
}

const isFateDie = oneOf([-1, 0, 1]);
const isFourDice: Check = (value) => Array.isArray(value) && value.length === 4 && value.every(isFateDie);

const RESOLUTION = objectChecks(resolutionSchema.shape, {
  action: oneOf(resolutionSchema.shape.action.options),
  skill: isString,
  rating: isInt,
  dice: isFourDice,
  rerolls: arrayOf(isFourDice),
  invokeBonus: isInt,
  total: isInt,
  opposition: isInt,
  oppositionKind: oneOf(resolutionSchema.shape.oppositionKind.options),
  oppositionDice: nullable(isFourDice),
  shifts: isInt,
  outcome: oneOf(outcomeSchema.options),
  hidden: isBoolean,
});

// every member present: one that zod would fill in with its default makes the line differ
const EVENT: ObjectChecks = {
  ...objectChecks(turnEventSchema.shape, {
    type: isString,
    description: isString,
    major: isBoolean,
    hidden: isBoolean,
    data: isRecord,
  }),
  optional: new Set(),
};

/** `jsonValueSchema`: jsonValueProblem's answer, given at once for the usual number, flag or short text. */
const isJsonValue: Check = (value) => {
  if (value === null || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value === "string" && value.length <= JSON_VALUE_LIMITS.stringMax && isStorableText(value))
    return true;
  return jsonValueProblem(value, JSON_VALUE_LIMITS) === null;
};

const DELTA = objectChecks(deltaSchema.shape, {
  op: oneOf(deltaOpSchema.options),
  path: (path) =>
    typeof path === "string" &&
    path.length <= DELTA_PATH_MAX &&
    DELTA_PATH_PATTERN.test(path) &&
    pointerProblem(path) === null,
  value: isJsonValue,
  prev: isJsonValue,
});

const TOKENS: ObjectChecks = {
  order: ["prompt", "completion"],
  optional: new Set(),
  checks: { prompt: isInt, completion: isInt },
};
const tellingChecks: Checks<(typeof tellingSchema)["shape"]> = {
  text: isString,
  narrator: isString,
  model: isNullableString,
  seed: nullable(isInt),
  promptHash: isNullableString,
  tokens: nullable((tokens) => isObjectOf(tokens, TOKENS)),
  endpoint: isNullableString,
  parameters: recordOf(
    (parameter) => typeof parameter === "string" || typeof parameter === "number" || isBoolean(parameter),
  ),
  latencyMs: (latency) => isInt(latency) && (latency as number) >= 0,
  fallback: isNullableString,
  audience: oneOf(tellingSchema.shape.audience.unwrap().options),
  createdAt: isString,
};
const TELLING = objectChecks(tellingSchema.shape, tellingChecks);
const NARRATION = objectChecks(narrationSchema.shape, {
  ...tellingChecks,
  retellings: arrayOf((telling) => isObjectOf(telling, TELLING)),
});

const TURN_CHECKS: Checks<(typeof turnLineSchema)["shape"]> = {
  universeId: isString,
  position: (position) => isInt(position) && (position as number) >= 1,
  id: isString,
  runId: isNullableString,
  characterId: isNullableString,
  playerId: isNullableString,
  actor: oneOf(actorKindSchema.options),
  kind: oneOf(turnKindSchema.options),
  input: isRecord,
  resolution: nullable((resolution) => isObjectOf(resolution, RESOLUTION)),
  events: arrayOf((event) => isObjectOf(event, EVENT)),
  deltas: arrayOf((delta) => isObjectOf(delta, DELTA)),
  status: oneOf(turnStatusSchema.options),
  narration: nullable((narration) => isObjectOf(narration, NARRATION)),
  createdAt: isString,
  type: (type) => type === "turn",
};

const TURN_MEMBERS = Object.keys(turnLineSchema.shape).length;

/** The turn's members in any order: its members are what is serialized, not the turn. */
function isTurn(value: unknown): boolean {
  if (!isObject(value)) return false;
  let members = 0;
  for (const key in value as object) {
    if (!Object.hasOwn(TURN_CHECKS, key)) return false;
    if (!TURN_CHECKS[key as keyof typeof TURN_CHECKS]((value as Record<string, unknown>)[key])) return false;
    members += 1;
  }
  return members === TURN_MEMBERS;
}
