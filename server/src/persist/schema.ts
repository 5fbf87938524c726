import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  index,
  integer,
  json,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import {
  actorKindSchema,
  runStateSchema,
  snapshotReasonSchema,
  turnKindSchema,
  turnStatusSchema,
  type Delta,
  type Narration,
  type Resolution,
  type TurnEvent,
} from "@loom/shared";

/**
 * The durable schema. drizzle-kit turns it into the SQL files in `migrations/`; storage settings
 * drizzle cannot express (inline compression of the turn columns) live in a hand-written migration.
 *
 * Size matters for `turns` (one row per turn, 100 000s per universe): enums instead of text for
 * the small vocabularies, no foreign keys on the hot insert path except the universe, and only
 * the indexes the timeline queries use.
 */

/** A zod enum's values as the non-empty tuple pgEnum wants, keeping their literal types. */
const values = <T extends string>(options: readonly T[]) => options as [T, ...T[]];

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const universeStatus = pgEnum("universe_status", ["active", "archived"]);
export const universeVisibility = pgEnum("universe_visibility", ["private", "public"]);
export const runState = pgEnum("run_state", values(runStateSchema.options));
export const actorKind = pgEnum("actor_kind", values(actorKindSchema.options));
// The enums are the shared schemas' own values, so the database and the domain cannot drift apart.
export const turnKind = pgEnum("turn_kind", values(turnKindSchema.options));
export const turnStatus = pgEnum("turn_status", values(turnStatusSchema.options));
export const snapshotReason = pgEnum("snapshot_reason", values(snapshotReasonSchema.options));

/**
 * A player. `login` (the name folded for comparison, see auth/login-name.ts) and `password_hash`
 * are set together when the player has a password; players registered by name alone have neither.
 * `token_generation` is part of every access token: raising it revokes all of them.
 */
export const players = pgTable(
  "players",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
    login: text("login"),
    passwordHash: text("password_hash"),
    tokenGeneration: integer("token_generation").notNull().default(0),
  },
  (t) => [uniqueIndex("players_login_idx").on(t.login)],
);

/**
 * Refresh tokens, stored as the SHA-256 of the token. Each use rotates a token (marks it
 * `rotated_at` and issues the next of its family); presenting a rotated token again revokes its
 * whole family, since one of the two holders is not the player, unless it comes back within the
 * reuse grace while its successor is unused (a lost answer: persist/accounts.ts).
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    playerId: text("player_id")
      .notNull()
      .references(() => players.id),
    familyId: text("family_id").notNull(),
    createdAt: instant("created_at").notNull(),
    expiresAt: instant("expires_at").notNull(),
    rotatedAt: instant("rotated_at"),
    /**
     * The hash of the token that replaced this one; null on a token not rotated, rotated before
     * this column existed, or set aside by a grace renewal of its predecessor.
     */
    successorHash: text("successor_hash"),
    revokedAt: instant("revoked_at"),
  },
  (t) => [
    index("refresh_tokens_player_idx").on(t.playerId),
    index("refresh_tokens_family_idx").on(t.familyId),
  ],
);

export const universes = pgTable(
  "universes",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /**
     * Dice (shared/src/fair-dice.ts): the secret (hex) never leaves the server until revealed; its
     * sha256 is public. Universes from before dice secrets keep their seed for the positions they
     * had then (through `legacy_dice_through`), so their recorded rolls stay reproducible.
     */
    diceSecret: text("dice_secret").notNull(),
    diceCommitment: text("dice_commitment").notNull(),
    diceRevealedAt: instant("dice_revealed_at"),
    seed: bigint("seed", { mode: "number" }),
    legacyDiceThrough: integer("legacy_dice_through").notNull().default(0),
    /** A branch points at its parent and the last parent position it shares; it copies no turns. */
    parentId: text("parent_id").references((): AnyPgColumn => universes.id),
    branchPosition: integer("branch_position"),
    headPosition: integer("head_position").notNull().default(0),
    status: universeStatus("status").notNull().default("active"),
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    /** Private: members and game masters only. Public: any signed-in player may read and join. */
    visibility: universeVisibility("visibility").notNull().default("private"),
    createdBy: text("created_by").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [
    index("universes_parent_idx").on(t.parentId),
    index("universes_created_by_idx").on(t.createdBy, t.createdAt),
  ],
);

export const characters = pgTable(
  "characters",
  {
    id: text("id").primaryKey(),
    playerId: text("player_id")
      .notNull()
      .references(() => players.id),
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    name: text("name").notNull(),
    sheet: jsonb("sheet").$type<Record<string, unknown>>().notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("characters_player_idx").on(t.playerId), index("characters_universe_idx").on(t.universeId)],
);

export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    playerId: text("player_id")
      .notNull()
      .references(() => players.id),
    characterId: text("character_id")
      .notNull()
      .references(() => characters.id),
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    state: runState("state").notNull().default("active"),
    turnCount: integer("turn_count").notNull().default(0),
    sessionCount: integer("session_count").notNull().default(0),
    milestones: integer("milestones").notNull().default(0),
    therapeuticFocus: text("therapeutic_focus"),
    completionReason: text("completion_reason"),
    completedAtPosition: integer("completed_at_position"),
    lastSessionEndPosition: integer("last_session_end_position"),
    createdAt: instant("created_at").notNull().defaultNow(),
    updatedAt: instant("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("runs_player_idx").on(t.playerId),
    index("runs_universe_idx").on(t.universeId),
    index("runs_character_idx").on(t.characterId),
  ],
);

export const playSessions = pgTable(
  "play_sessions",
  {
    id: text("id").primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id),
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    startPosition: integer("start_position").notNull(),
    endPosition: integer("end_position"),
    summary: text("summary"),
    /** `left` or `interrupted` (see the `session_end` command), once the session has ended. */
    endReason: text("end_reason"),
    startedAt: instant("started_at").notNull().defaultNow(),
    endedAt: instant("ended_at"),
  },
  (t) => [
    index("play_sessions_run_idx").on(t.runId, t.startPosition),
    // the sessions a universe opened after a crash must close
    index("play_sessions_open_idx")
      .on(t.universeId)
      .where(sql`end_position is null`),
  ],
);

/**
 * The text a turn is found by (input text, event descriptions, narration), over a `turns` row (or
 * a row of the same column names), and its English tsvector: what a search matches a turn against.
 */
export const turnSearchText = sql`coalesce("input"->>'text', '') || ' ' || coalesce("input"->>'description', '') || ' ' || coalesce("input"->>'note', '') || ' ' || jsonb_path_query_array("events"::jsonb, '$[*].description')::text || ' ' || coalesce("narration"->>'text', '')`;
export const turnSearchDocument = sql`to_tsvector('english'::regconfig, ${turnSearchText})`;

/**
 * The rows "while you were away" reads: turns with a major event. A query must state this
 * condition exactly for the planner to use the partial index `turns_major_idx`.
 */
export const turnMajor = sql`"events"::jsonb @> '[{"major":true}]'::jsonb`;

/**
 * The keys of the run and character indexes: a 16-byte hash of the id instead of its text (a
 * UUID's text is 36 bytes, and each entry is paid on every append). A query states the hash of
 * the id it wants, for the planner to use the index, and the id itself, which the row settles.
 */
export const turnRunKey = sql`(md5("run_id")::uuid)`;
export const turnCharacterKey = sql`(md5("character_id")::uuid)`;
/** An id's hash as those keys hold it. */
export const idKey = (id: string) => sql`(md5(${id})::uuid)`;

/**
 * One row per turn. `undone_by` is the position of the undo turn (in this universe) that marked
 * the row undone: a branch that shares the row but not that undo turn still sees it applied.
 *
 * Indexes, each paid for on every append: the primary key (also the timeline's order, and what
 * rejects a stale owner's write); turn ids unique through a 16-byte hash of the id rather than
 * the id itself; a run's turns by (hash of run_id, position) and a character's by (hash of
 * character_id, position), so a filter on either reads that run's or character's rows however
 * rare they are, without the universe, whose id is text and which the row settles (a character's
 * rows in other universes are its universe's branches and ancestors, a few at most); the major
 * turns by (universe, position), partial (`turnMajor`), which "while you were away" reads newest
 * first and caps; and, partial too, the undos, the session ends and the turns still without
 * narration. Full-text search is not among them: it lives in `turn_search`, filled behind the log
 * (search-index.ts), because the English tsvector costs more than the rest of the insert.
 */
export const turns = pgTable(
  "turns",
  {
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    position: integer("position").notNull(),
    undoneBy: integer("undone_by"),
    createdAt: instant("created_at").notNull(),
    actor: actorKind("actor").notNull(),
    kind: turnKind("kind").notNull(),
    status: turnStatus("status").notNull().default("applied"),
    id: text("id").notNull(),
    runId: text("run_id"),
    characterId: text("character_id"),
    playerId: text("player_id"),
    input: json("input").$type<Record<string, unknown>>().notNull(),
    resolution: json("resolution").$type<Resolution>(),
    events: json("events").$type<TurnEvent[]>().notNull(),
    deltas: json("deltas").$type<Delta[]>().notNull(),
    /** Written once, when the narrator delivers (see setNarration). */
    narration: json("narration").$type<Narration>(),
  },
  (t) => [
    primaryKey({ name: "turns_pkey", columns: [t.universeId, t.position] }),
    uniqueIndex("turns_id_idx").on(sql`(md5(${sql.identifier("id")})::uuid)`),
    index("turns_run_idx")
      .on(turnRunKey, t.position)
      .where(sql`${sql.identifier("run_id")} is not null`),
    index("turns_character_idx")
      .on(turnCharacterKey, t.position)
      .where(sql`${sql.identifier("character_id")} is not null`),
    index("turns_major_idx").on(t.universeId, t.position).where(turnMajor),
    // the few undos of a universe, without reading the turns between them ("Last time on…" asks
    // whether one took back a turn of a session since it ended: server/src/universe/continuity.ts)
    index("turns_undo_idx")
      .on(t.universeId, t.position)
      .where(sql`${sql.identifier("kind")} = 'undo'`),
    // the sessions a universe's characters ended, newest first, without reading the turns between
    // them ("while you were away" tells the others' latest sessions: recapFor in continuity.ts)
    index("turns_session_end_idx")
      .on(t.universeId, t.position)
      .where(sql`${sql.identifier("kind")} = 'session_end'`),
    // the turns still waiting for their prose, which a universe's next owner tells and the dashboard
    // counts: a few in a universe with a narrator, however long (narrator/universe-narration.ts)
    index("turns_untold_idx")
      .on(t.universeId, t.position)
      .where(sql`${sql.identifier("narration")} is null`),
  ],
);

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

/**
 * Which turns may hold a word: one row per block of `SEARCH_BLOCK` positions of a universe's own
 * rows (block k holds positions 32k+1 to 32k+32), its document the lexemes of all their text
 * without positions (`strip`). A block that has a search's words is a candidate; its turns are
 * then matched one by one (`turnSearchDocument`). A document per turn, with positions, would take
 * several times the index and the row of a block's, for the same turns. Keyed by the universe
 * that stores the rows: a branch finds its inherited turns under its ancestors' ids, as it reads
 * them. Written behind the log by the search indexer and merged into by a narration's write; a
 * turn the indexer has not reached (past `search_progress`) is matched on its row alone.
 */
export const turnSearch = pgTable(
  "turn_search",
  {
    universeId: text("universe_id").notNull(),
    block: integer("block").notNull(),
    document: tsvector("document").notNull(),
  },
  (t) => [
    primaryKey({ name: "turn_search_pkey", columns: [t.universeId, t.block] }),
    index("turn_search_document_idx").using("gin", t.document),
  ],
);

/** Positions a `turn_search` row covers. */
export const SEARCH_BLOCK = 32;

/**
 * The search indexer's high-water mark per universe, a multiple of `SEARCH_BLOCK`: the text of
 * every turn of the universe's own rows up to `indexed_through` is in its block's document. Apart
 * from `universes`, whose row every append locks to move the head.
 */
export const searchProgress = pgTable("search_progress", {
  universeId: text("universe_id").primaryKey(),
  indexedThrough: integer("indexed_through").notNull().default(0),
});

/**
 * A branch's undo of a turn it shares with its parent: the parent's row is not touched, so the
 * mark lives with the branch.
 */
export const inheritedUndos = pgTable(
  "inherited_undos",
  {
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    position: integer("position").notNull(),
    undoneBy: integer("undone_by").notNull(),
  },
  (t) => [primaryKey({ name: "inherited_undos_pkey", columns: [t.universeId, t.position] })],
);

export const snapshots = pgTable(
  "snapshots",
  {
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    position: integer("position").notNull(),
    reason: snapshotReason("reason").notNull(),
    createdAt: instant("created_at").notNull(),
    checksum: text("checksum").notNull(),
    /**
     * json, not jsonb: a snapshot is only ever read whole, and Postgres hands json text back as
     * stored, where jsonb must be rebuilt into text first, on every jump. Its text also
     * compresses smaller.
     */
    state: json("state").$type<Record<string, unknown>>(),
    /**
     * A document stored by part (snapshot-parts.ts), `state` then null: the text between the
     * parts, one piece more than `parts`, joined by U+0001 (which canonical JSON never holds
     * unescaped); `parts` names them in `snapshot_parts` by digest. Read whole through
     * `loom_snapshot_document` (migration 0014), as `state::text` reads a whole one.
     */
    skeleton: text("skeleton"),
    parts: uuid("parts").array(),
  },
  (t) => [primaryKey({ name: "snapshots_pkey", columns: [t.universeId, t.position] })],
);

/**
 * The parts of a universe's snapshots (one bucket of a bucketed record each), written once per
 * universe and text: a snapshot names the ones it holds, and the next snapshot, a hundred turns
 * later, shares most of them.
 */
export const snapshotParts = pgTable(
  "snapshot_parts",
  {
    universeId: text("universe_id").notNull(),
    digest: uuid("digest").notNull(),
    document: text("document").notNull(),
  },
  (t) => [primaryKey({ name: "snapshot_parts_pkey", columns: [t.universeId, t.digest] })],
);

export const progression = pgTable("progression", {
  playerId: text("player_id")
    .primaryKey()
    .references(() => players.id),
  runsCompleted: integer("runs_completed").notNull().default(0),
  turnsInCompletedRuns: integer("turns_in_completed_runs").notNull().default(0),
  milestones: integer("milestones").notNull().default(0),
  metaconcepts: text("metaconcepts")
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  completedRunIds: text("completed_run_ids")
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  unlocks: text("unlocks")
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  updatedAt: instant("updated_at").notNull().defaultNow(),
});

/**
 * Who may read, watch and play a universe besides its game masters (who stay in the universe's
 * own record). A removed member keeps the row with `removed_at`, so neither an old invite nor a
 * public universe lets them back in; only a game master re-adding them does.
 */
export const universeMembers = pgTable(
  "universe_members",
  {
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    playerId: text("player_id")
      .notNull()
      .references(() => players.id),
    inviteCode: text("invite_code"),
    joinedAt: instant("joined_at").notNull().defaultNow(),
    removedAt: instant("removed_at"),
  },
  (t) => [
    primaryKey({ name: "universe_members_pkey", columns: [t.universeId, t.playerId] }),
    index("universe_members_player_idx").on(t.playerId),
  ],
);

/** Invite codes a game master hands out; accepting one makes the player a member. */
export const universeInvites = pgTable(
  "universe_invites",
  {
    code: text("code").primaryKey(),
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    createdBy: text("created_by").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
    expiresAt: instant("expires_at"),
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    revokedAt: instant("revoked_at"),
  },
  (t) => [index("universe_invites_universe_idx").on(t.universeId)],
);

/**
 * HTTP writes sent with an Idempotency-Key: the first response, kept until `expires_at`, so a
 * retry (through any process) gets it back instead of applying the write again. `status` is null
 * while the first request runs.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    playerId: text("player_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status"),
    response: jsonb("response"),
    createdAt: instant("created_at").notNull().defaultNow(),
    expiresAt: instant("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ name: "idempotency_keys_pkey", columns: [t.playerId, t.key] }),
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

/**
 * The fencing tokens of each universe's ownership lease, kept beside the live store's own counter
 * so that a live store which lost its data (a Redis restarted without persistence) cannot hand
 * out a token again, nor let a new owner open over turns only the lost stream had.
 * `lease_token` is the highest token any owner registered; `settled_token` the highest whose owner
 * gave the universe up with every turn it acknowledged persisted. While they differ, the last
 * owner may hold acknowledged turns that exist only in the live store (or in its memory).
 */
export const universeLeases = pgTable("universe_leases", {
  universeId: text("universe_id").primaryKey(),
  leaseToken: bigint("lease_token", { mode: "number" }).notNull().default(0),
  settledToken: bigint("settled_token", { mode: "number" }).notNull().default(0),
  updatedAt: instant("updated_at").notNull().defaultNow(),
});

/**
 * Save points a player named in a universe's timeline: a bookmark of theirs at one of their own
 * turns. The name is unique per player and universe; the timeline itself is not touched.
 */
export const savePoints = pgTable(
  "save_points",
  {
    universeId: text("universe_id")
      .notNull()
      .references(() => universes.id),
    playerId: text("player_id")
      .notNull()
      .references(() => players.id),
    name: text("name").notNull(),
    position: integer("position").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: "save_points_pkey", columns: [t.universeId, t.playerId, t.name] })],
);
