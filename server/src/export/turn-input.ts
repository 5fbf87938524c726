import {
  commandSchema,
  isHiddenTurn,
  JSON_VALUE_LIMITS,
  LIMITS,
  pathIdSchema,
  systemCommandSchema,
} from "@loom/shared";
import type { z } from "zod";
import type { TurnLine } from "./format.ts";

/**
 * A turn's input is the command its turn was decided from, as the server validated it: a
 * player's or a game master's (`commandSchema`, what a client may send), or one the server
 * issues itself (`systemCommandSchema`). The authority records it parsed, adding only the
 * sender's connection (`clientKey`) and sequence number (`seq`) when a client sent it
 * (authority.ts, buildTurn). An import holds each turn's input to the same schema, so that a
 * file cannot bring in what the API would refuse: a command of no kind, a text past its bound.
 */
const COMMANDS = new Map<unknown, z.ZodObject>(
  [...commandSchema.options, ...systemCommandSchema.options].map((schema) => [
    schema.shape.kind.value,
    schema as z.ZodObject,
  ]),
);

const SERVER_ADDED = new Set(["clientKey", "seq"]);
/** A client's key: a player's id, a run's id (or a role) and a client session's (32), with colons. */
const CLIENT_KEY_MAX = 2 * (pathIdSchema.maxLength ?? 64) + 32 + 2;

/**
 * The longest text any member of a command takes: a prose text, or a text a retcon's or world
 * event's delta writes. Measured before the schema runs, whose plain-text patterns take stack in
 * proportion to a text's length (a line may hold 64 Mi characters).
 */
const TEXT_MOST = Math.max(LIMITS.textMax, JSON_VALUE_LIMITS.stringMax);

/** The path of the first text in `value` longer than TEXT_MOST, or null. */
function overlong(value: unknown, path: string): { path: string; length: number } | null {
  if (typeof value === "string") return value.length > TEXT_MOST ? { path, length: value.length } : null;
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = overlong(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const key in value) {
    const found = overlong((value as Record<string, unknown>)[key], `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/** A value of the file in a refusal, a long text cut short with its length. */
function shown(value: unknown): string {
  if (typeof value !== "string") return JSON.stringify(value) ?? String(value);
  return value.length <= 40
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)`;
}

/**
 * The most characters a telling's text holds here. A narrator keeps a telling within what it
 * asked for (openai-narrator.ts, tellingCharBound: a dozen characters a token, a few thousand as
 * usually configured); this bound leaves room for any narrator configured to ask for tens of
 * thousands of tokens, and refuses a text no narrator wrote, which every reader of the turn
 * (the rooms, a recap, an export) would otherwise carry.
 */
export const TELLING_TEXT_MAX = 2 ** 20;

/**
 * Why a turn holds what the server would not have recorded, or null: an input that is no
 * command the API takes (inputProblem); a player or a game master who is nobody (no playerId);
 * a player's turn that is hidden, which only a game master's (or the server's) hidden roll, or
 * note, makes (rules/action.ts refuses a player's hidden roll); a telling past TELLING_TEXT_MAX.
 * What the rules decided (the roll, the events' words, the deltas) is checked by `--replay`.
 */
export function turnContentProblem(turn: TurnLine): string | null {
  const problem = inputProblem(turn);
  if (problem) return problem;
  if ((turn.actor === "player" || turn.actor === "gm") && turn.playerId === null)
    return `a ${turn.actor === "gm" ? "game master" : "player"}'s turn names no player (its playerId is null)`;
  if (turn.actor === "player" && isHiddenTurn(turn))
    return "a player's turn is hidden (a hidden roll or event), which only a game master's turns are";
  const { narration } = turn;
  if (narration !== null)
    for (const [i, telling] of [narration, ...(narration.retellings ?? [])].entries())
      if (telling.text.length > TELLING_TEXT_MAX)
        return `its ${i === 0 ? "narration" : `narration.retellings[${i - 1}]`} text is ${telling.text.length} characters long, past the ${TELLING_TEXT_MAX} a telling holds`;
  return null;
}

/**
 * Why a turn's input is not a command the server would have recorded, or null: of a kind no
 * schema knows, a member the command does not have, a value its schema refuses (a text past
 * LIMITS.textMax included), a `clientKey` or `seq` of another form than the server's, a
 * character other than the turn's.
 */
function inputProblem(turn: TurnLine): string | null {
  const { input } = turn;
  const schema = COMMANDS.get(input.kind);
  if (!schema) return `its input.kind ${shown(input.kind)} is no command Loom knows`;
  for (const key in input) {
    if (SERVER_ADDED.has(key) || Object.hasOwn(schema.shape, key)) continue;
    return `its input.${key} is no member of the ${shown(input.kind)} command`;
  }
  const { clientKey, seq } = input;
  if (clientKey !== undefined && (typeof clientKey !== "string" || clientKey.length > CLIENT_KEY_MAX))
    return `its input.clientKey ${shown(clientKey)} is not a client's key (a text of at most ${CLIENT_KEY_MAX} characters)`;
  if (seq !== undefined && !(Number.isSafeInteger(seq) && (seq as number) >= 0))
    return `its input.seq ${shown(seq)} is not a sequence number (a whole number from 0)`;
  const long = overlong(input, "input");
  if (long)
    return `its ${long.path} is ${long.length} characters long, past the ${TEXT_MOST} any text of a command holds`;
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `.${issue.path.join(".")}` : "";
    const value = issue?.path.reduce<unknown>(
      (at, key) => (at as Record<PropertyKey, unknown>)?.[key],
      input,
    );
    return `its input${path} ${shown(value)} is not what the API takes: ${issue?.message ?? "invalid"}`;
  }
  const named = input.characterId;
  if (typeof named === "string" && turn.characterId !== named)
    return `its input names character ${shown(named)}, the turn is of ${shown(turn.characterId)}`;
  return null;
}
