import { z } from "zod";
import {
  exportAncestrySchema,
  pathIdSchema,
  savePointBodySchema,
  snapshotReasonSchema,
  turnSchema,
  type DiceSegment,
} from "@loom/shared";
import type { SavePointStore } from "../persist/save-points.ts";
import type { StoredDice, TurnStore } from "../persist/turn-store.ts";

/**
 * The JSONL export of a universe (docs/export-format.md): one JSON value a line, a header first,
 * then the timeline in position order — each turn, and after a turn the snapshot taken at its
 * position (the genesis snapshot right after the header) — and an end line with the counts, so a
 * truncated file is told from a whole one. Readers refuse a `version` they do not know.
 *
 * Version 2 added the save point lines (and their count on the end line); a version 1 file reads
 * as one without save points.
 */
export const EXPORT_FORMAT = "loom-universe";
export const EXPORT_VERSION = 2;
/** The versions a reader takes: every one written so far. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** What an export reads: the timelines, and the save points players named in them. */
export interface ExportStores {
  turnStore: TurnStore;
  savePoints: SavePointStore;
}

/** Who an export was made for: a game master sees everything, a player what that player may see. */
export type Audience = { kind: "gm" } | { kind: "player"; playerId: string };

export function audienceLabel(audience: Audience): string {
  return audience.kind === "gm" ? "gm" : `player:${audience.playerId}`;
}

/** `gm` or `player:<id>`, as `--as` and `?as=` take it. */
export function parseAudience(text: string): Audience | null {
  if (text === "gm") return { kind: "gm" };
  const match = /^player:(.{1,64})$/.exec(text);
  return match ? { kind: "player", playerId: match[1]! } : null;
}

/** Whether a branch's shared past is written out (`full`) or named by its parent and branch position (`reference`). */
export const ancestryModeSchema = exportAncestrySchema;
export type AncestryMode = z.infer<typeof ancestryModeSchema>;

const diceSegmentSchema = z.object({
  universeId: z.string(),
  from: z.number().int().min(0),
  commitment: z.string(),
  revealedAt: z.string().nullable(),
  secret: z.string().nullable(),
  legacyThrough: z.number().int().min(0),
  legacySeed: z.number().int().nullable(),
});

export const headerLineSchema = z.object({
  type: z.literal("header"),
  format: z.literal(EXPORT_FORMAT),
  version: z.number().int(),
  exportedAt: z.string(),
  audience: z.string(),
  ancestry: ancestryModeSchema,
  universe: z.object({
    id: z.string(),
    name: z.string(),
    parentId: z.string().nullable(),
    branchPosition: z.number().int().nullable(),
    createdAt: z.string(),
    createdBy: z.string(),
  }),
  /** The stretches of the timeline, root first: the positions in (after, through] were played in `universeId`. */
  lineage: z.array(
    z.object({ universeId: z.string(), after: z.number().int(), through: z.number().int().nullable() }),
  ),
  /** The first position written out is `from + 1`: 0, or the branch position of a reference export. */
  from: z.number().int().min(0),
  head: z.number().int().min(0),
  /** The timeline's dice, its own stretch first; a secret only once its game master revealed it. */
  dice: z.array(diceSegmentSchema),
  /** Whether turns are redacted for a player: such a file is a reader's, not a backup. */
  redacted: z.boolean(),
  /**
   * A game master's reference export: the checksum of the state at `from`, the branch point, so an
   * import checks that the parent it finds in its database has the same past.
   */
  base: z.object({ position: z.number().int().min(0), checksum: z.string().length(64) }).optional(),
});
export type HeaderLine = z.infer<typeof headerLineSchema>;

export const turnLineSchema = turnSchema.extend({ type: z.literal("turn") });
export type TurnLine = z.infer<typeof turnLineSchema>;

export const snapshotLineSchema = z.object({
  type: z.literal("snapshot"),
  position: z.number().int().min(0),
  reason: snapshotReasonSchema,
  createdAt: z.string(),
  checksum: z.string().length(64),
  state: z.record(z.string(), z.unknown()),
});
export type SnapshotLine = z.infer<typeof snapshotLineSchema>;

/**
 * A save point a player named at a position (version 2): after the turns, by position. A
 * player's export holds that player's own; a game master's, everyone's.
 */
export const savePointLineSchema = z.object({
  type: z.literal("save_point"),
  position: z.number().int().min(1),
  playerId: pathIdSchema,
  name: savePointBodySchema.shape.name,
  createdAt: z.iso.datetime({ offset: true }),
});
export type SavePointLine = z.infer<typeof savePointLineSchema>;

export const endLineSchema = z.object({
  type: z.literal("end"),
  turns: z.number().int().min(0),
  snapshots: z.number().int().min(0),
  /** Version 2 on; absent in version 1. */
  savePoints: z.number().int().min(0).optional(),
});
export type EndLine = z.infer<typeof endLineSchema>;

export const bodyLineSchema = z.discriminatedUnion("type", [
  turnLineSchema,
  snapshotLineSchema,
  savePointLineSchema,
  endLineSchema,
]);
export type BodyLine = z.infer<typeof bodyLineSchema>;

/** A stretch of dice as anyone may see it: the secret (and a legacy seed) only once revealed. */
export function disclosedDice(dice: StoredDice): DiceSegment {
  const revealed = dice.revealedAt !== null;
  return {
    universeId: dice.universeId,
    from: dice.from,
    commitment: dice.commitment,
    revealedAt: dice.revealedAt,
    secret: revealed ? dice.secret : null,
    legacyThrough: dice.legacyThrough,
    legacySeed: revealed ? dice.legacySeed : null,
  };
}
