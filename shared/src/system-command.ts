import { z } from "zod";
import { idSchema, LIMITS, POSITION_MAX } from "./command.ts";
import { deltaSchema } from "./delta.ts";
import { prose } from "./plain-text.ts";
import { characterSchema } from "./state.ts";

/**
 * Commands the server issues itself (never sent by a client as such): a character joining the
 * universe, a game master's retcon, an undo, and the start and end of a play session. They are
 * recorded as the `input` of their turns like player commands, so re-execution can repeat them.
 */
export const addCharacterCommandSchema = z.object({
  kind: z.literal("add_character"),
  character: characterSchema.extend({ id: idSchema }),
});

/** A retcon: a note and the deltas that correct canon (supersede a fact, fix a summary). */
export const retconCommandSchema = z.object({
  kind: z.literal("retcon"),
  note: prose(z.string().min(1).max(LIMITS.textMax)),
  deltas: z.array(deltaSchema).max(100).default([]),
});

/** Undo the applied turn at `targetPosition` (decided by `undoDecision`, which needs the timeline). */
export const undoCommandSchema = z.object({
  kind: z.literal("undo"),
  targetPosition: z.number().int().min(1).max(POSITION_MAX),
});

/** The most lines a session's opening carries of what the others did (`meanwhile`). */
export const MEANWHILE_MAX = 5;

export const sessionStartCommandSchema = z.object({
  kind: z.literal("session_start"),
  characterId: idSchema,
  /**
   * Whether fate points refresh: only at the start of a real play session (see
   * `refreshesFatePoints`), not when a player reconnects or opens a second tab. Turns recorded
   * without the field refresh.
   */
  refresh: z.boolean().optional(),
  /**
   * What the run's previous session ended with (its recap's summary), told as the session opens.
   * Turns recorded without the field told the universe's most recent summary, whoever's it was.
   */
  lastTime: z.string().max(LIMITS.textMax).optional(),
  /**
   * What the others did since the run's previous session (before its first), as its recap lists
   * it: the newest major events a player may see, one line each, for the narrator to tell as the
   * session opens. Turns recorded without the field were told without them.
   */
  meanwhile: z.array(z.string().max(LIMITS.textMax)).max(MEANWHILE_MAX).optional(),
  /**
   * The run's first session: its character comes into the story rather than back to it. Turns
   * recorded without the field were told as a return.
   */
  first: z.literal(true).optional(),
});

export const sessionEndCommandSchema = z.object({
  kind: z.literal("session_end"),
  characterId: idSchema,
  summary: z.string().max(LIMITS.textMax).default(""),
  /**
   * `left`: the run's last client left. `interrupted`: the process serving the universe stopped
   * while the session was open, and the next one to open the universe closed it. Turns recorded
   * without the field were `left`.
   */
  reason: z.enum(["left", "interrupted"]).optional(),
  /**
   * `interrupted`: when the session was last known to be in play, the universe's last turn
   * before its process stopped. The turn itself is made when the universe is next opened, which
   * may be the player's own return: the session ended when the play stopped, not then. With
   * `through`: when the run's last client dropped.
   */
  endedAt: z.iso.datetime({ offset: true }).optional(),
  /**
   * The universe's head when the run's last client dropped, for a session that ends because none
   * came back within the reconnection window: the session ended there, and what the others did
   * while its seat was kept is news at the run's next session ("while you were away"), not part
   * of this one. Turns recorded without the field ended at their own position.
   */
  through: z.number().int().min(0).max(POSITION_MAX).optional(),
});

/**
 * A run ends (completed with a reason, or abandoned). It is a turn of its own so that undoing it
 * reopens the run and reverses the progression credit it gave.
 */
export const runEndCommandSchema = z.object({
  kind: z.literal("run_end"),
  characterId: idSchema,
  runId: z.string().min(1).max(64),
  outcome: z.enum(["completed", "abandoned"]),
  reason: z.string().max(200).nullable().default(null),
});

/**
 * A run is paused (its player may not act until it is resumed) or resumed (a paused or abandoned
 * run is back in play). A turn of its own so that the run's state follows the timeline.
 */
export const runPauseCommandSchema = z.object({
  kind: z.literal("run_pause"),
  characterId: idSchema,
  runId: z.string().min(1).max(64),
  paused: z.boolean(),
});

export const systemCommandSchema = z.discriminatedUnion("kind", [
  addCharacterCommandSchema,
  retconCommandSchema,
  undoCommandSchema,
  sessionStartCommandSchema,
  sessionEndCommandSchema,
  runEndCommandSchema,
  runPauseCommandSchema,
]);
export type SystemCommand = z.infer<typeof systemCommandSchema>;
export type AddCharacterCommand = z.infer<typeof addCharacterCommandSchema>;
export type RetconCommand = z.infer<typeof retconCommandSchema>;
export type UndoCommand = z.infer<typeof undoCommandSchema>;
export type SessionStartCommand = z.infer<typeof sessionStartCommandSchema>;
export type SessionEndCommand = z.infer<typeof sessionEndCommandSchema>;
export type RunEndCommand = z.infer<typeof runEndCommandSchema>;
export type RunPauseCommand = z.infer<typeof runPauseCommandSchema>;
