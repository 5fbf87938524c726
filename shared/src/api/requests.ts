import { z } from "zod";
import { characterLimitsChangeSchema, characterSheetSchema } from "../character.ts";
import { LIMITS, POSITION_MAX } from "../command.ts";
import { deltaSchema } from "../delta.ts";
import { oneLine, prose, visibleName } from "../plain-text.ts";
import { turnKindSchema } from "../turn.ts";
import { universeVisibilitySchema } from "./records.ts";

/**
 * What the HTTP API accepts: bodies, queries and path parameters. The server parses every request
 * with these (a failure is a 400 `invalid_message` naming the first problem), the OpenAPI document
 * is generated from them, and the SDK's arguments are typed by them.
 */

export { POSITION_MAX };

export const MIN_PASSWORD_LENGTH = 8;
/** scrypt reads the whole password; a megabyte of it per request is work nobody needs. */
export const MAX_PASSWORD_LENGTH = 256;

const playerName = visibleName(z.string().trim().min(1).max(100));
const password = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
const refreshToken = z.string().min(1).max(200);

export const registerBodySchema = z.object({ name: playerName, password: password.optional() });
/** A login's name and password are not held to today's rules: they only have to match. */
export const loginBodySchema = z.object({
  name: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});
export const refreshBodySchema = z.object({ refreshToken });
export const passwordBodySchema = z.object({
  password,
  currentPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH).optional(),
  /** The login name, when it should differ from the player's name. */
  login: playerName.optional(),
});

export const universeBodySchema = z.object({
  name: visibleName(z.string().trim().min(1).max(200)),
  premise: prose(z.string().max(4000)).default(""),
  visibility: universeVisibilitySchema.default("private"),
});
/** A game master's change of a universe: either or both parts; limits left out stay as they are. */
export const universeChangeBodySchema = z
  .object({
    visibility: universeVisibilitySchema.optional(),
    characterLimits: characterLimitsChangeSchema.optional(),
  })
  .refine((body) => body.visibility !== undefined || body.characterLimits !== undefined, {
    message: "a change: visibility, characterLimits or both",
  });
const focus = oneLine(z.string().max(200));
export const characterBodySchema = characterSheetSchema.extend({
  therapeuticFocus: focus.optional(),
});
export const newRunBodySchema = z.object({
  characterId: z.string().min(1).max(64),
  therapeuticFocus: focus.optional(),
});
export const completeRunBodySchema = z.object({
  reason: visibleName(z.string().trim().min(1).max(200)).default("retired"),
});
export const inviteBodySchema = z.object({
  maxUses: z.number().int().min(1).max(10_000).optional(),
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 86_400)
    .optional(),
});
export const undoBodySchema = z.object({ position: z.number().int().min(1).max(POSITION_MAX).optional() });
export const retconBodySchema = z.object({
  note: prose(z.string().trim().min(1).max(LIMITS.textMax)),
  deltas: z.array(deltaSchema).max(100).default([]),
});
export const branchBodySchema = z.object({
  position: z.number().int().min(0).max(POSITION_MAX),
  name: visibleName(z.string().trim().min(1).max(200)).optional(),
});
/** A save point's name: shown in bookmark lists, so short and on one line. */
export const SAVE_POINT_NAME_MAX = 80;
export const savePointNameSchema = visibleName(z.string().trim().min(1).max(SAVE_POINT_NAME_MAX));
export const savePointBodySchema = z.object({
  name: savePointNameSchema,
  /** The caller's latest turn: a save point is named where the player stands. */
  position: z.number().int().min(1).max(POSITION_MAX),
});
/** The player a game master hands a branch to, as their own solo timeline. */
export const soloBodySchema = z.object({ playerId: z.string().min(1).max(64) });
/** Writes that take no fields accept an empty object (or no body). */
export const emptyBodySchema = z.object({});

export const timelineQuerySchema = z.object({
  cursor: intParamSchema("cursor").optional(),
  limit: intParamSchema("limit", 1, 500).default(50),
  order: z.enum(["asc", "desc"]).default("desc"),
  characterId: z.string().max(64).optional(),
  runId: z.string().max(64).optional(),
  kind: turnKindSchema.optional(),
  q: z.string().max(200).optional(),
});

/** An invite code or a player id in a path. */
export const pathIdSchema = z.string().min(1).max(64);

const DECIMAL = /^[0-9]{1,16}$/;

/**
 * An integer in a path or a query string, from `min` to `max`, written in decimal digits alone
 * (`Number` would also read "0x10", "1e2", " 7" and "" as numbers). The message names the
 * parameter (`position must be an integer from 1 to …`), as the API has always answered.
 */
export function intParamSchema(name: string, min = 0, max = POSITION_MAX) {
  const message = `${name} must be an integer from ${min} to ${max}`;
  return z
    .unknown()
    .transform((value, ctx) => {
      const parsed = typeof value === "string" && DECIMAL.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({ code: "custom", message });
        return z.NEVER;
      }
      return parsed;
    })
    .meta({ type: "integer", minimum: min, maximum: max });
}

/** GET /api/universes/:id/export (docs/export-format.md). */
export const exportFormatSchema = z.enum(["jsonl", "markdown"]);
export const exportAncestrySchema = z.enum(["full", "reference"]);
export const exportQuerySchema = z.object({
  format: exportFormatSchema.default("jsonl"),
  /** A branch's shared past written out (`full`) or named by parent and branch position (`reference`). */
  ancestry: exportAncestrySchema.default("full"),
  /** `gm` or `player:<id>`: a game master may export any audience's view, anyone else only their own. */
  as: z
    .string()
    .regex(/^(gm|player:.{1,64})$/, "as must be gm or player:<id>")
    .optional(),
});
