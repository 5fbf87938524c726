import { z } from "zod";
import { deltaSchema } from "./delta.ts";
import { oneLine, prose, visibleName } from "./plain-text.ts";
import { relationshipSchema } from "./state.ts";

/** Limits shared by the server and the SDK so an oversized message never reaches the rules. */
export const LIMITS = {
  textMax: 2000,
  nameMax: 100,
  invokesMax: 5,
  messageBytesMax: 8 * 1024,
  /**
   * The largest WebSocket frame the server reads at all: a larger one closes the connection (1009)
   * before any rule sees it. Between messageBytesMax and this, it refuses it with a code.
   */
  frameBytesMax: 16 * 1024,
} as const;

/** Positions, cursors and limits are Postgres `integer`s: a larger one could only fail in the query. */
export const POSITION_MAX = 2 ** 31 - 1;

/** Ids of characters, NPCs, aspects and options: safe in JSON Pointers and URLs. */
export const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and -");
const id = idSchema;

/**
 * Skill names are identifiers ("Athletics", "Arcane_Lore"), words separated by single spaces
 * allowed as character sheets allow them ("Arcane Lore"). A skill missing from a sheet rolls at +0.
 */
export const skillNameSchema = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z][A-Za-z0-9_]*( [A-Za-z0-9_]+)*$/, "a skill name: letters, digits, _ and single spaces");
const text = prose(z.string().max(LIMITS.textMax));
/** An aspect, as invoked or compelled: one that exists already, named as it is stored. */
const aspectText = oneLine(z.string().min(1).max(200));
/** An aspect a roll creates, named for the first time. */
const newAspectName = visibleName(z.string().min(1).max(200));

/** Invoking an aspect: +2 or a reroll, paid with a fate point or a free invoke (Fate Core p. 12). */
export const invokeSchema = z.object({
  /** A scene aspect id, a character aspect text, or a consequence on the target. */
  aspect: aspectText,
  effect: z.enum(["bonus", "reroll"]),
  payment: z.enum(["fate_point", "free_invoke"]),
});
export type Invoke = z.infer<typeof invokeSchema>;

export const targetSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("character"), id }),
  z.object({ type: z.literal("npc"), id }),
  z.object({ type: z.literal("aspect"), id }),
  z.object({ type: z.literal("scene") }),
]);
export type Target = z.infer<typeof targetSchema>;

export const fateActionSchema = z.enum(["overcome", "create_advantage", "attack", "defend"]);
export type FateAction = z.infer<typeof fateActionSchema>;

export const actionCommandSchema = z.object({
  kind: z.literal("action"),
  characterId: id,
  action: fateActionSchema,
  skill: skillNameSchema,
  description: text.default(""),
  target: targetSchema.optional(),
  /**
   * Passive opposition on the ladder, set by a game master (a player's is refused, not_allowed);
   * omitted, an NPC or a character opposes with its own skill and anything else is Fair (+2).
   */
  opposition: z.number().int().min(-4).max(12).optional(),
  /** For create advantage: the aspect to create. */
  aspectName: newAspectName.optional(),
  invokes: z.array(invokeSchema).max(LIMITS.invokesMax).default([]),
  /** GM-only: the roll is hidden from players and spectators (the character's owner too); GMs see it. */
  hidden: z.boolean().default(false),
  /**
   * A hidden roll whose effects on the world everyone reads are concealed (rules/action-effects.ts).
   * The server sets it on every hidden roll it is sent; rolls recorded before it existed lack it and
   * re-execute as they were decided.
   */
  concealed: z.literal(true).optional(),
});

export const choiceCommandSchema = z.object({
  kind: z.literal("choice"),
  characterId: id,
  optionId: oneLine(z.string().max(64)).optional(),
  text: text.min(1),
});

export const customCommandSchema = z.object({
  kind: z.literal("custom"),
  characterId: id,
  text: text.min(1),
});

export const concedeCommandSchema = z.object({ kind: z.literal("concede"), characterId: id });

/** GM: a compel offers the character a fate point for a complication (Fate Core p. 71). */
export const compelCommandSchema = z.object({
  kind: z.literal("compel"),
  characterId: id,
  aspect: aspectText,
  text: text.min(1),
  accepted: z.boolean(),
});

/** GM: something happens in the world. Optional deltas let the GM change the world directly. */
export const worldEventCommandSchema = z.object({
  kind: z.literal("world_event"),
  text: text.min(1),
  major: z.boolean().default(true),
  deltas: z.array(deltaSchema).max(100).default([]),
});

/** GM: open a new scene (ends the current one). */
export const sceneCommandSchema = z.object({
  kind: z.literal("scene"),
  title: visibleName(z.string().min(1).max(200)),
  location: oneLine(z.string().max(200)).nullable().default(null),
  summary: text.default(""),
  /** Situation aspects the new scene opens with. */
  aspects: z
    .array(visibleName(z.string().trim().min(1).max(200)))
    .max(10)
    .optional(),
});

/**
 * A game master's everyday world-building as typed commands, decided by the rules like any other
 * command (rules/world-building.ts): no JSON Pointer deltas to write, defaults for what is left
 * out, a coded rejection for what does not fit. Raw deltas stay available as retcons.
 */

const name = visibleName(z.string().trim().min(1).max(LIMITS.nameMax));

/** add (a name; the id is made from the turn's position unless given), update or remove (an id). */
const crud = z.enum(["add", "update", "remove"]);

export const npcCommandSchema = z.object({
  kind: z.literal("npc"),
  op: crud,
  id: idSchema.optional(),
  name: name.optional(),
  relationship: relationshipSchema.optional(),
  notes: text.optional(),
  /** Seen by game masters only. */
  gmNotes: text.optional(),
  skills: z.record(skillNameSchema, z.number().int().min(-2).max(8)).optional(),
});

export const locationCommandSchema = z.object({
  kind: z.literal("location"),
  op: crud,
  id: idSchema.optional(),
  name: name.optional(),
  region: oneLine(z.string().max(LIMITS.nameMax)).nullable().optional(),
  notes: text.optional(),
});

export const factionCommandSchema = z.object({
  kind: z.literal("faction"),
  op: crud,
  id: idSchema.optional(),
  name: name.optional(),
  standing: z.number().int().min(-10).max(10).optional(),
});

/** start (a title), advance (new details), resolve or fail a quest. */
export const questCommandSchema = z.object({
  kind: z.literal("quest"),
  op: z.enum(["start", "advance", "resolve", "fail"]),
  id: idSchema.optional(),
  title: name.optional(),
  details: text.optional(),
});

/** Add a situation aspect to the scene, or remove one (by id or name). */
export const aspectCommandSchema = z.object({
  kind: z.literal("aspect"),
  op: z.enum(["add", "remove"]),
  id: idSchema.optional(),
  name: visibleName(z.string().trim().min(1).max(200)).optional(),
  freeInvokes: z.number().int().min(0).max(3).default(0),
});

/**
 * A milestone (Fate Core p. 256): minor and significant ones are recorded for the table; a major
 * one also raises the character's refresh by one.
 */
export const milestoneCommandSchema = z.object({
  kind: z.literal("milestone"),
  characterId: idSchema,
  level: z.enum(["minor", "significant", "major"]),
  note: text.default(""),
});

export const worldCommandSchemas = [
  npcCommandSchema,
  locationCommandSchema,
  factionCommandSchema,
  questCommandSchema,
  aspectCommandSchema,
  milestoneCommandSchema,
] as const;

export type NpcCommand = z.infer<typeof npcCommandSchema>;
export type LocationCommand = z.infer<typeof locationCommandSchema>;
export type FactionCommand = z.infer<typeof factionCommandSchema>;
export type QuestCommand = z.infer<typeof questCommandSchema>;
export type AspectCommand = z.infer<typeof aspectCommandSchema>;
export type MilestoneCommand = z.infer<typeof milestoneCommandSchema>;

export const commandSchema = z.discriminatedUnion("kind", [
  actionCommandSchema,
  choiceCommandSchema,
  customCommandSchema,
  concedeCommandSchema,
  compelCommandSchema,
  worldEventCommandSchema,
  sceneCommandSchema,
  ...worldCommandSchemas,
]);
export type Command = z.infer<typeof commandSchema>;
export type CommandInput = z.input<typeof commandSchema>;
export type ActionCommand = z.infer<typeof actionCommandSchema>;

/** The `act` message on the wire: a command plus the client's sequence number for retries. */
export const actMessageSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  command: commandSchema,
});
export type ActMessage = z.infer<typeof actMessageSchema>;
