import { z } from "zod";
import { characterLimitsSchema } from "../character.ts";
import { runStateSchema } from "../continuity/run-lifecycle.ts";
import { relationshipSchema, stateSchema } from "../state.ts";
import { snapshotReasonSchema, turnKindSchema, turnSchema } from "../turn.ts";
import type { Recap } from "../continuity/recap.ts";
import type { DiceDisclosure, DiceSegment } from "../dice-verify.ts";

/**
 * The records the HTTP API returns, as schemas: the server's responses are checked against them in
 * tests, the OpenAPI document is generated from them, and the SDK's types are inferred from them.
 */

const isoTime = z.string().describe("ISO 8601 time");

export const universeVisibilitySchema = z.enum(["private", "public"]);

export const publicUniverseSchema = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  /** For a branch: the last parent position it shares. Positions after it are the branch's own. */
  branchPosition: z.number().int().nullable(),
  headPosition: z.number().int().min(0),
  status: z.enum(["active", "archived"]),
  /** `private` (the default): members and game masters only; `public`: any signed-in player. */
  visibility: universeVisibilitySchema,
  createdAt: isoTime,
  /** sha256 of the universe's dice secret (hex), published when it is created: see fair-dice.ts. */
  diceCommitment: z.string(),
  /** When a game master revealed the dice secret, else null. */
  diceRevealedAt: isoTime.nullable(),
  /** What a new character's sheet may hold here (Fate Core's unless its game master set others). */
  characterLimits: characterLimitsSchema,
});

/**
 * The caller's place in a universe of their list: `gm` (its creator or a game master named in its
 * settings), `member` (a player admitted by invite or by a GM), `removed` (a GM removed them; a
 * public universe stays listed), `guest` (a public universe they have not joined).
 */
export const universeRoleSchema = z.enum(["gm", "member", "removed", "guest"]);
export type UniverseRole = z.infer<typeof universeRoleSchema>;

/** A universe of the caller's list, with their role in it (null for a caller without a token). */
export const listedUniverseSchema = publicUniverseSchema.extend({ yourRole: universeRoleSchema.nullable() });

export const memberRecordSchema = z.object({
  universeId: z.string(),
  playerId: z.string(),
  /** The invite it came with, if any. */
  inviteCode: z.string().nullable(),
  joinedAt: isoTime,
  /** Set when a game master removed the player: they may no longer read, watch or play. */
  removedAt: isoTime.nullable(),
});

/** A member as a game master's list shows them: their record and the name they registered with. */
export const listedMemberSchema = memberRecordSchema.extend({ playerName: z.string() });

export const inviteRecordSchema = z.object({
  code: z.string(),
  universeId: z.string(),
  createdBy: z.string(),
  createdAt: isoTime,
  expiresAt: isoTime.nullable(),
  maxUses: z.number().int().nullable(),
  uses: z.number().int(),
  revokedAt: isoTime.nullable(),
});

/** A save point a player named at one of their own turns (see the bookmarks). */
export const savePointRecordSchema = z.object({
  universeId: z.string(),
  playerId: z.string(),
  name: z.string(),
  position: z.number().int().min(1),
  createdAt: isoTime,
});

/** A snapshot without its document, as the game master's list shows it. */
export const snapshotInfoSchema = z.object({
  universeId: z.string(),
  /** The universe whose row holds it: the universe itself, or an ancestor for a shared position. */
  storedIn: z.string(),
  position: z.number().int().min(0),
  checksum: z.string(),
  reason: snapshotReasonSchema,
  createdAt: isoTime,
});

export const playerRecordSchema = z.object({ id: z.string(), name: z.string(), createdAt: isoTime });

export const characterRecordSchema = z.object({
  id: z.string(),
  playerId: z.string(),
  universeId: z.string(),
  name: z.string(),
  /** The sheet the character was created with (Fate Core), copied into the state by its first turn. */
  sheet: z.record(z.string(), z.unknown()),
  createdAt: isoTime,
});

export const runRecordSchema = z.object({
  id: z.string(),
  playerId: z.string(),
  characterId: z.string(),
  universeId: z.string(),
  state: runStateSchema,
  turnCount: z.number().int(),
  sessionCount: z.number().int(),
  milestones: z.number().int(),
  therapeuticFocus: z.string().nullable(),
  completionReason: z.string().nullable(),
  /** Position of the turn that completed the run (undoing it reverses the completion). */
  completedAtPosition: z.number().int().nullable(),
  lastSessionEndPosition: z.number().int().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const playSessionRecordSchema = z.object({
  id: z.string(),
  runId: z.string(),
  universeId: z.string(),
  startPosition: z.number().int(),
  endPosition: z.number().int().nullable(),
  summary: z.string().nullable(),
  /** How the session ended: its last client left, or the server serving it stopped. */
  endReason: z.enum(["left", "interrupted"]).nullable(),
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
});

/** A player's meta-progression: what completed runs credited (see continuity/progression.ts). */
export const progressionRecordSchema = z.object({
  playerId: z.string(),
  runsCompleted: z.number().int(),
  turnsInCompletedRuns: z.number().int(),
  milestones: z.number().int(),
  metaconcepts: z.array(z.string()),
  completedRunIds: z.array(z.string()),
  unlocks: z.array(z.string()),
  updatedAt: isoTime,
});

/** A stretch of a timeline's dice as anyone may see it: the secret only once revealed. */
export const diceSegmentSchema = z.object({
  universeId: z.string(),
  from: z.number().int(),
  /** sha256 of the secret, hex: published when the universe was created. */
  commitment: z.string(),
  revealedAt: isoTime.nullable(),
  secret: z.string().nullable(),
  /** Positions up to this one were rolled before dice secrets existed (0: none). */
  legacyThrough: z.number().int(),
  legacySeed: z.number().nullable(),
});

/** A universe's dice: its own stretch first, then its parent's, back to the root universe. */
export const diceDisclosureSchema = z.object({ universeId: z.string(), chain: z.array(diceSegmentSchema) });

export const stateAtSchema = z.object({
  position: z.number().int().min(0),
  state: stateSchema,
  checksum: z.string(),
  /** Position of the snapshot the state was rebuilt from, and how many turns were replayed on it. */
  fromSnapshot: z.number().int(),
  replayed: z.number().int(),
  /**
   * Snapshots between the position and `fromSnapshot` whose stored document did not match its
   * checksum: passed over, newest first (absent when none were). A jump still serves the state
   * rebuilt from an intact one; opening a universe refuses.
   */
  damagedSnapshots: z.array(z.number().int()).optional(),
});

export const timelinePageSchema = z.object({
  turns: z.array(turnSchema),
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: z.number().int().nullable(),
});

/** "Last time on…": see continuity/recap.ts, which builds it. */
export const recapSchema = z.object({
  universeName: z.string(),
  head: z.number().int(),
  previousSessionEnd: z.number().int().nullable(),
  characterId: z.string(),
  characterName: z.string(),
  recentSummary: z.string(),
  scene: z.object({
    title: z.string(),
    location: z.string().nullable(),
    summary: z.string(),
    aspects: z.array(z.string()),
  }),
  activeQuests: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      details: z.string(),
      lastUpdatePosition: z.number().int(),
    }),
  ),
  keyNpcs: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      attitude: relationshipSchema,
      notes: z.string(),
      lastSeenPosition: z.number().int().nullable(),
    }),
  ),
  lastTurns: z.array(z.object({ position: z.number().int(), kind: turnKindSchema, text: z.string() })),
  whileYouWereAway: z.array(
    z.object({
      position: z.number().int(),
      /** Null for the game master's world events. */
      characterId: z.string().nullable(),
      characterName: z.string().nullable(),
      text: z.string(),
    }),
  ),
  retcons: z.array(z.object({ position: z.number().int(), note: z.string() })),
  /** How many items each capped list left out (the oldest, or the least recently seen). */
  omitted: z.object({
    activeQuests: z.number().int(),
    keyNpcs: z.number().int(),
    whileYouWereAway: z.number().int(),
    retcons: z.number().int(),
    sceneAspects: z.number().int(),
  }),
  /** More turns qualified for "while you were away" than the recap counts. */
  awayCountCapped: z.boolean(),
  /** The recap as Markdown ("## Last time on …"). */
  text: z.string(),
});

/** Compile-time checks: the records typed by hand elsewhere match their schemas exactly. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type RecordSchemasMatch = [
  Holds<Same<z.infer<typeof recapSchema>, Recap>>,
  Holds<Same<z.infer<typeof diceDisclosureSchema>, DiceDisclosure>>,
  Holds<Same<z.infer<typeof diceSegmentSchema>, DiceSegment>>,
];
