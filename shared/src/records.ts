import type { RunState } from "./continuity/run-lifecycle.ts";
import type { UniverseState } from "./state.ts";
import type { Turn, TurnKind } from "./turn.ts";
import type { Progression } from "./continuity/progression.ts";

/**
 * The records the server keeps around a universe's timeline, as the HTTP API returns them and the
 * SDK receives them. The server's TurnStore port stores exactly these shapes.
 */

export type { RunState };

/**
 * A universe as the HTTP API returns it and the SDK receives it. It carries no dice secret and no
 * settings (the game-master list): `publicUniverse` is the only way a universe leaves the server.
 */
export interface PublicUniverse {
  id: string;
  name: string;
  parentId: string | null;
  /** For a branch: the last parent position it shares. Positions after it are the branch's own. */
  branchPosition: number | null;
  headPosition: number;
  status: "active" | "archived";
  /** `private` (the default): members and game masters only; `public`: any signed-in player. */
  visibility: UniverseVisibility;
  createdAt: string;
  /** sha256 of the universe's dice secret (hex), published when it is created: see fair-dice.ts. */
  diceCommitment: string;
  /** When a game master revealed the dice secret (`GET /api/universes/:id/dice`), else null. */
  diceRevealedAt: string | null;
}

/** The universe the server works with. Its dice secret is stored apart (TurnStore `diceKeys`). */
export interface UniverseRecord extends PublicUniverse {
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
  };
}

export type UniverseVisibility = "private" | "public";

/** A player's membership of a universe (game masters need none). */
export interface MemberRecord {
  universeId: string;
  playerId: string;
  /** The invite it came with, if any. */
  inviteCode: string | null;
  joinedAt: string;
  /** Set when a game master removed the player: they may no longer read, watch or play. */
  removedAt: string | null;
}

export interface InviteRecord {
  code: string;
  universeId: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  revokedAt: string | null;
}

export interface StateAt {
  position: number;
  state: UniverseState;
  checksum: string;
  /** Position of the snapshot the state was rebuilt from, and how many turns were replayed on it. */
  fromSnapshot: number;
  replayed: number;
}

export interface TimelinePage {
  turns: Turn[];
  nextCursor: number | null;
}

export interface PlayerRecord {
  id: string;
  name: string;
  createdAt: string;
}

export interface CharacterRecord {
  id: string;
  playerId: string;
  universeId: string;
  name: string;
  /** The sheet the character was created with (Fate Core), copied into the state by its first turn. */
  sheet: Record<string, unknown>;
  createdAt: string;
}

export interface RunRecord {
  id: string;
  playerId: string;
  characterId: string;
  universeId: string;
  state: RunState;
  turnCount: number;
  sessionCount: number;
  milestones: number;
  therapeuticFocus: string | null;
  completionReason: string | null;
  /** Position of the turn that completed the run (undoing it reverses the completion). */
  completedAtPosition: number | null;
  lastSessionEndPosition: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface PlaySessionRecord {
  id: string;
  runId: string;
  universeId: string;
  startPosition: number;
  endPosition: number | null;
  summary: string | null;
  /** How the session ended: its last client left, or the server serving it stopped. */
  endReason: "left" | "interrupted" | null;
  startedAt: string;
  endedAt: string | null;
}

/** A player's meta-progression: what completed runs credited (see continuity/progression.ts). */
export interface ProgressionRecord extends Progression {
  playerId: string;
}

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
