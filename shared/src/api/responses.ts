import { z } from "zod";
import { runStateSchema } from "../continuity/run-lifecycle.ts";
import { deltaSchema } from "../delta.ts";
import { rejectionCodeSchema } from "../rejection.ts";
import { characterSchema } from "../state.ts";
import { tellingSchema, turnSchema } from "../turn.ts";
import {
  characterRecordSchema,
  diceDisclosureSchema,
  inviteRecordSchema,
  listedMemberSchema,
  listedUniverseSchema,
  memberRecordSchema,
  playerRecordSchema,
  playSessionRecordSchema,
  progressionRecordSchema,
  publicUniverseSchema,
  runRecordSchema,
  savePointRecordSchema,
  snapshotInfoSchema,
} from "./records.ts";
import { bookmarkSchema } from "../bookmarks.ts";

/** Every refusal of the HTTP API: its status, and this body with a stable code (see rejection.ts). */
export const apiErrorSchema = z.object({
  error: z.object({ code: rejectionCodeSchema, message: z.string() }),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

export const okSchema = z.object({ ok: z.literal(true) });

/** What registering, logging in and refreshing return. `token` is the access token. */
export const authSessionSchema = z.object({
  player: z.object({ id: z.string(), name: z.string() }),
  token: z.string(),
  tokenExpiresAt: z.string(),
  refreshToken: z.string(),
  refreshTokenExpiresAt: z.string(),
});
export const registeredSchema = authSessionSchema.extend({ player: playerRecordSchema });
/**
 * Setting or changing a password answers with the login and a new session (every earlier one is
 * logged out). The bare form is what servers answered to a first password before it did too.
 */
export const passwordSetSchema = z.union([
  authSessionSchema.extend({ login: z.string() }),
  z.object({ player: z.object({ id: z.string(), name: z.string() }), login: z.string() }),
]);

export const meSchema = z.object({
  player: playerRecordSchema.nullable(),
  /** The login name, once the player has a password. */
  account: z.object({ login: z.string().nullable(), hasPassword: z.boolean() }),
  runs: z.array(runRecordSchema),
});

export const universeResponseSchema = z.object({ universe: publicUniverseSchema });
export const universesResponseSchema = z.object({ universes: z.array(listedUniverseSchema) });
export const openedSchema = z.object({ roomId: z.string() });
export const characterCreatedSchema = z.object({ character: characterRecordSchema, run: runRecordSchema });
export const turnResponseSchema = z.object({ turn: turnSchema });
export const runResponseSchema = z.object({ run: runRecordSchema });
export const runChangedSchema = z.object({ run: runRecordSchema, turn: turnSchema });
export const runCompletedSchema = runChangedSchema.extend({
  /**
   * Whether the completion credited the player's progression: false for a run completed without
   * a played turn of its own, which stays completed but earns nothing (`earnsCredit`).
   */
  credited: z.boolean(),
});
export const sessionsResponseSchema = z.object({ sessions: z.array(playSessionRecordSchema) });
export const progressionResponseSchema = z.object({ progression: progressionRecordSchema });
/**
 * A character's full sheet as the story has left it; null until the character has joined play.
 * Its `gmNotes` are a game master's to read: its player's answer has none.
 */
export const characterSheetResponseSchema = z.object({
  character: characterRecordSchema,
  sheet: characterSchema.extend({ gmNotes: z.string().optional() }).nullable(),
  position: z.number().int(),
});
export const tellingResponseSchema = z.object({ narration: tellingSchema });
export const snapshotTakenSchema = z.object({ position: z.number().int() });
export const diffSchema = z.object({
  from: z.number().int(),
  to: z.number().int(),
  deltas: z.array(deltaSchema.extend({ position: z.number().int() })),
});
/** A few of a long list, and how many there are. */
const sampled = <T extends z.ZodType>(item: T) => z.object({ count: z.number().int(), shown: z.array(item) });

/**
 * The timeline scrubber's answer at one position: what the state holds there, told briefly (the
 * whole state is GET /state), the turn at the position and its deltas (the diff from the position
 * before), and how the state was reached.
 */
export const scrubSchema = z.object({
  position: z.number().int().min(0),
  head: z.number().int().min(0),
  source: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("snapshot"), from: z.number().int(), replayed: z.number().int() }),
    z.object({ kind: z.literal("walk"), from: z.number().int(), turns: z.number().int() }),
    z
      .object({ kind: z.literal("index") })
      .describe("Read from the brief of every position the server keeps of a long universe being scrubbed"),
  ]),
  summary: z.object({
    mode: z.string(),
    scene: z.object({ title: z.string(), location: z.string().nullable(), aspects: z.array(z.string()) }),
    characters: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        fatePoints: z.number().int(),
        physicalStress: z.string(),
        mentalStress: z.string(),
        consequences: z.array(z.string()),
      }),
    ),
    npcs: sampled(z.object({ name: z.string(), relationship: z.string() })),
    quests: sampled(z.object({ title: z.string(), state: z.string() })),
    locations: sampled(z.string()),
    majorEvents: sampled(z.string()),
    canonFacts: z.number().int(),
  }),
  turn: turnSchema.nullable(),
  deltas: diffSchema.shape.deltas,
});

export const diceResponseSchema = z.object({ dice: diceDisclosureSchema });
export const inviteResponseSchema = z.object({ invite: inviteRecordSchema });
export const invitesResponseSchema = z.object({ invites: z.array(inviteRecordSchema) });
export const memberResponseSchema = z.object({ member: memberRecordSchema });
export const membersResponseSchema = z.object({ members: z.array(listedMemberSchema) });
export const acceptedInviteSchema = z.object({ member: memberRecordSchema, universe: publicUniverseSchema });

/**
 * A position of the timeline as the caller may see it (a player's time travel): the state with
 * what is not theirs withheld (visibility.ts), and the turn at that position likewise.
 */
export const jumpResponseSchema = z.object({
  position: z.number().int().min(0),
  head: z.number().int().min(0),
  state: z
    .record(z.string(), z.unknown())
    .describe("The state document (see stateSchema) without `gmNotes`, nor `private` of others' characters"),
  turn: turnSchema.nullable(),
});
export const bookmarksResponseSchema = z.object({
  bookmarks: z.array(bookmarkSchema),
  nextBefore: z
    .number()
    .int()
    .nullable()
    .describe(
      "The older bookmarks are those before this position (ask again with `before`); null when there are none",
    ),
});
export const savePointResponseSchema = z.object({ savePoint: savePointRecordSchema });
export const snapshotsResponseSchema = z.object({ snapshots: z.array(snapshotInfoSchema) });
export const soloResponseSchema = z.object({
  universe: publicUniverseSchema,
  member: memberRecordSchema,
  /** The players who were members of the branch and no longer are. */
  removed: z.array(z.string()),
});

/** A game master's glance at a universe without joining its room (the web client's list). */
export const dashboardSchema = z.object({
  universe: publicUniverseSchema,
  /** The newest acknowledged position. */
  head: z.number().int(),
  /**
   * How far the turns survive a crash of the server: the owner's durable mark (the write-ahead
   * log's fdatasync or Redis' stream; with a memory live store, what the database has).
   */
  durableThrough: z.number().int(),
  /** How far the database has the turns. */
  persistedThrough: z.number().int(),
  runs: z.array(
    z.object({
      runId: z.string(),
      characterId: z.string(),
      characterName: z.string().nullable(),
      playerId: z.string(),
      state: runStateSchema,
      /** Whether a play session of the run is open. */
      present: z.boolean(),
    }),
  ),
  /** Of the universe's own `window` turns (its branch's inherited ones aside), how many still wait for their prose. */
  narration: z.object({ window: z.number().int(), untold: z.number().int() }),
});

export const healthSchema = z.object({
  ok: z.literal(true),
  /**
   * `degraded`: the database or the live store does not answer (`unreachable`, with the error's
   * class; its message for an operator), or some universes' turns are not reaching the database
   * (`failingUniverses`; they stay in the live store). Which universes (`persistFailing`) only for
   * an operator's token.
   */
  status: z.enum(["ok", "degraded"]),
  degraded: z
    .object({
      unreachable: z.record(z.string(), z.string()).optional(),
      failingUniverses: z.number().int().optional(),
      persistFailing: z.array(z.unknown()).optional(),
    })
    .optional(),
  store: z.string(),
  live: z.string(),
  mode: z.enum(["embedded", "distributed"]),
});

export const readySchema = z.object({
  ready: z.boolean(),
  /** What does not answer (`database`, `live`), and why: the error's class, its message for an operator. */
  unreachable: z.record(z.string(), z.string()).optional(),
});

const histogramSchema = z.object({
  count: z.number(),
  sumMs: z.number(),
  maxMs: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  buckets: z.array(z.number()),
});
export const metricsSchema = z.object({
  startedAt: z.string(),
  acts: histogramSchema,
  commits: histogramSchema.extend({ turns: z.number(), failed: z.number() }),
  eventLoop: z.object({ activeMs: z.number(), idleMs: z.number(), lag: histogramSchema }),
  persist: z.object({
    failingUniverses: z.number(),
    /** Which universes fail, and why: for an operator's token only, as `lastDamagedSnapshot`. */
    failing: z.array(z.unknown()).optional(),
    failedWrites: z.number(),
    failedSnapshots: z.number(),
    /** Universes refused at opening because a snapshot did not match its checksum, and the last one (`id@position`). */
    damagedSnapshots: z.number(),
    lastDamagedSnapshot: z.string().nullable().optional(),
  }),
});

/** The OpenAPI 3.1 document of this API (GET /api/openapi.json). */
export const openApiDocumentSchema = z.object({ openapi: z.string() }).catchall(z.unknown());

const namedRecordSchema = z.object({ id: z.string(), label: z.string() });
/** The world's records a GM command names by id, at the head (`worldNames` in world-records.ts). */
export const worldNamesResponseSchema = z.object({
  position: z.number().int().min(0),
  npc: z.array(namedRecordSchema),
  location: z.array(namedRecordSchema),
  faction: z.array(namedRecordSchema),
  quest: z.array(namedRecordSchema),
});
