import { characterLimitsOf } from "./character.ts";
import type { RunState } from "./continuity/run-lifecycle.ts";
import type { z } from "zod";
import type { TurnKind } from "./turn.ts";
import type {
  characterRecordSchema,
  inviteRecordSchema,
  listedMemberSchema,
  memberRecordSchema,
  playerRecordSchema,
  playSessionRecordSchema,
  progressionRecordSchema,
  publicUniverseSchema,
  runRecordSchema,
  savePointRecordSchema,
  snapshotInfoSchema,
  stateAtSchema,
  timelinePageSchema,
  universeVisibilitySchema,
} from "./api/records.ts";

/**
 * The records the server keeps around a universe's timeline, as the HTTP API returns them and the
 * SDK receives them. The server's TurnStore port stores exactly these shapes.
 */

export type { RunState };

/**
 * A universe as the HTTP API returns it and the SDK receives it. It carries no dice secret and no
 * settings (the game-master list): `publicUniverse` is the only way a universe leaves the server.
 */
export type PublicUniverse = z.infer<typeof publicUniverseSchema>;

/**
 * The universe the server works with. Its dice secret is stored apart (TurnStore `diceKeys`); what
 * the API shows of its settings (`characterLimits`) is read from them when it is shown.
 */
export interface UniverseRecord extends Omit<PublicUniverse, "characterLimits"> {
  createdBy: string;
  settings: Record<string, unknown>;
}

export function publicUniverse(universe: UniverseRecord): PublicUniverse {
  return {
    id: universe.id,
    name: universe.name,
    parentId: universe.parentId,
    branchPosition: universe.branchPosition,
    headPosition: universe.headPosition,
    status: universe.status,
    visibility: universe.visibility,
    createdAt: universe.createdAt,
    diceCommitment: universe.diceCommitment,
    diceRevealedAt: universe.diceRevealedAt,
    characterLimits: characterLimitsOf(universe.settings),
  };
}

export type UniverseVisibility = z.infer<typeof universeVisibilitySchema>;

/** A player's membership of a universe (game masters need none). */
export type MemberRecord = z.infer<typeof memberRecordSchema>;

/** A member with the name they registered with, as a game master's list shows them. */
export type ListedMember = z.infer<typeof listedMemberSchema>;

export type InviteRecord = z.infer<typeof inviteRecordSchema>;

export type SavePointRecord = z.infer<typeof savePointRecordSchema>;

export type SnapshotInfo = z.infer<typeof snapshotInfoSchema>;

export type StateAt = z.infer<typeof stateAtSchema>;

export type TimelinePage = z.infer<typeof timelinePageSchema>;

export type PlayerRecord = z.infer<typeof playerRecordSchema>;

export type CharacterRecord = z.infer<typeof characterRecordSchema>;

export type RunRecord = z.infer<typeof runRecordSchema>;

export type PlaySessionRecord = z.infer<typeof playSessionRecordSchema>;

/** A player's meta-progression: what completed runs credited (see continuity/progression.ts). */
export type ProgressionRecord = z.infer<typeof progressionRecordSchema>;

export interface TimelineQuery {
  /** Exclusive position to continue from (returned as `nextCursor` by the previous page). */
  cursor?: number;
  limit?: number;
  order?: "asc" | "desc";
  characterId?: string;
  runId?: string;
  kind?: TurnKind;
  /** Full-text search over input text, event descriptions and narration. */
  q?: string;
  /**
   * With `q`: only turns a non-GM sees whole match (no hidden roll, no hidden event), so neither
   * a result nor `nextCursor` tells that a hidden turn contains a word. Set by the server for
   * players and spectators.
   */
  searchPublic?: boolean;
}
