import { z } from "zod";
import { deltaSchema } from "./delta.ts";

export const actorKindSchema = z.enum(["player", "gm", "system"]);
export type ActorKind = z.infer<typeof actorKindSchema>;

export const turnKindSchema = z.enum([
  "action",
  "choice",
  "custom",
  "combat",
  "world_event",
  "system",
  "undo",
  "retcon",
  "session_start",
  "session_end",
]);
export type TurnKind = z.infer<typeof turnKindSchema>;

export const outcomeSchema = z.enum(["fail", "tie", "success", "success_with_style"]);
export type Outcome = z.infer<typeof outcomeSchema>;

export const fateDieSchema = z.union([z.literal(-1), z.literal(0), z.literal(1)]);
export type FateDie = z.infer<typeof fateDieSchema>;

/** The mechanical result of a Fate roll, recorded so replay never rolls again. */
export const resolutionSchema = z.object({
  action: z.enum(["overcome", "create_advantage", "attack", "defend"]),
  skill: z.string(),
  rating: z.number().int(),
  dice: z.array(fateDieSchema).length(4),
  rerolls: z.array(z.array(fateDieSchema).length(4)),
  invokeBonus: z.number().int(),
  total: z.number().int(),
  opposition: z.number().int(),
  oppositionKind: z.enum(["passive", "active"]),
  oppositionDice: z.array(fateDieSchema).length(4).nullable(),
  shifts: z.number().int(),
  outcome: outcomeSchema,
  hidden: z.boolean(),
});
export type Resolution = z.infer<typeof resolutionSchema>;

/** Something that happened, in words a narrator or a recap can use. */
export const turnEventSchema = z.object({
  type: z.string(),
  description: z.string(),
  major: z.boolean().default(false),
  /** GM-only events (hidden rolls, secret notes) are withheld from players and spectators. */
  hidden: z.boolean().default(false),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type TurnEvent = z.infer<typeof turnEventSchema>;

export const turnStatusSchema = z.enum(["applied", "undone"]);

/**
 * A turn's prose, recorded once with what is needed to audit it. The fields after `tokens` were
 * added with the narrators; records written before them lack them.
 */
const narrationFields = {
  text: z.string(),
  /** The adapter that produced `text`: `template` or `openai-compatible` (or a test's own). */
  narrator: z.string(),
  model: z.string().nullable(),
  seed: z.number().int().nullable(),
  /** sha256 of the prompt's canonical JSON; null for the template, which has no prompt. */
  promptHash: z.string().nullable(),
  tokens: z.object({ prompt: z.number().int(), completion: z.number().int() }).nullable(),
  /** The host (and port) of the endpoint asked, never its path, query or key. */
  endpoint: z.string().nullable().optional(),
  /** Sampling parameters sent with the request (temperature, max tokens…). */
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  latencyMs: z.number().int().min(0).optional(),
  /** Why the template stood in for the configured narrator (timeout, error, backlog); null when it did not. */
  fallback: z.string().nullable().optional(),
  /** Who the prose was told to: the whole table, or game masters alone (hidden rolls). */
  audience: z.enum(["table", "gm"]).optional(),
  createdAt: z.string().optional(),
};
/** One telling of a turn: the first, or a game master's retelling. */
export const tellingSchema = z.object(narrationFields);
export type Telling = z.infer<typeof tellingSchema>;
export const narrationSchema = z.object({
  ...narrationFields,
  /**
   * Tellings a game master asked for after the first, oldest first. The first telling above is
   * kept as it was; a reader showing the newest prose shows the last retelling.
   */
  retellings: z.array(tellingSchema).optional(),
});
export type Narration = z.infer<typeof narrationSchema>;

export const turnSchema = z.object({
  universeId: z.string(),
  position: z.number().int().min(1),
  id: z.string(),
  runId: z.string().nullable(),
  characterId: z.string().nullable(),
  playerId: z.string().nullable(),
  actor: actorKindSchema,
  kind: turnKindSchema,
  /** The validated command (or the undo / retcon / session request) that produced the turn. */
  input: z.record(z.string(), z.unknown()),
  resolution: resolutionSchema.nullable(),
  events: z.array(turnEventSchema),
  deltas: z.array(deltaSchema),
  status: turnStatusSchema,
  narration: narrationSchema.nullable(),
  createdAt: z.string(),
});
export type Turn = z.infer<typeof turnSchema>;

export const snapshotReasonSchema = z.enum([
  "genesis",
  "interval_turns",
  "interval_deltas",
  "scene_end",
  "conflict_end",
  "session_end",
  "quest_completed",
  "manual",
]);
export type SnapshotReason = z.infer<typeof snapshotReasonSchema>;

/** Full state at a position, with the sha256 of its canonical JSON. */
export const snapshotSchema = z.object({
  universeId: z.string(),
  position: z.number().int().min(0),
  state: z.record(z.string(), z.unknown()),
  checksum: z.string().length(64),
  reason: snapshotReasonSchema,
  createdAt: z.string(),
});
export type Snapshot = z.infer<typeof snapshotSchema>;
