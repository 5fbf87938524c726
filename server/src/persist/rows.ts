import { upgradeDeltas } from "@loom/shared";
import type { Snapshot, Turn } from "@loom/shared";
import type { SQL } from "drizzle-orm";
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from "drizzle-orm/pg-core";
import type {
  CharacterRecord,
  PlaySessionRecord,
  PlayerRecord,
  ProgressionRecord,
  RunRecord,
  UniverseRecord,
} from "./turn-store.ts";
import * as schema from "./schema.ts";

/** Both adapters (postgres.js and PGlite) are a drizzle PgDatabase over this schema; so is a transaction. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

const dialect = new PgDialect();

/**
 * Raw SQL as a prepared statement: on Postgres each connection plans it once and reuses the plan,
 * where `db.execute` sends an unnamed statement that is planned on every call, and for a short
 * query such as the jump's, planning is a large share of its time in the database. `name` only marks the query as one to prepare; postgres.js keys its statements by
 * their text. PGlite runs it as before.
 */
export function executePrepared(db: Db, name: string, query: SQL): Promise<unknown> {
  return db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute();
}

/**
 * The driver's own client under `db` (a transaction's, inside one): postgres.js's, or PGlite's
 * instance or transaction object. For what drizzle's API has not (COPY, PGlite's protocol).
 */
export function sessionClient(db: Db): unknown {
  return (db as unknown as { _: { session: { client: unknown } } })._.session.client;
}

/** postgres.js answers raw SQL with an array of rows, PGlite with `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

/** Every turn column. */
export const turnColumns = {
  universeId: schema.turns.universeId,
  position: schema.turns.position,
  id: schema.turns.id,
  runId: schema.turns.runId,
  characterId: schema.turns.characterId,
  playerId: schema.turns.playerId,
  actor: schema.turns.actor,
  kind: schema.turns.kind,
  input: schema.turns.input,
  resolution: schema.turns.resolution,
  events: schema.turns.events,
  deltas: schema.turns.deltas,
  status: schema.turns.status,
  undoneBy: schema.turns.undoneBy,
  narration: schema.turns.narration,
  createdAt: schema.turns.createdAt,
};

export type TurnRow = {
  [K in keyof typeof turnColumns]: (typeof turnColumns)[K]["_"]["notNull"] extends true
    ? (typeof turnColumns)[K]["_"]["data"]
    : (typeof turnColumns)[K]["_"]["data"] | null;
};

/**
 * A stored row as a turn of the timeline it is read through. `undone` is whether an undo visible
 * in that timeline marked it, which for a row shared with a branch may differ from the row's own.
 */
/** A stored turn as readers see it: deltas recorded against an older state version in the current layout. */
export function toTurn(row: TurnRow, viewUniverseId: string, undone: boolean): Turn {
  return {
    universeId: viewUniverseId,
    position: row.position,
    id: row.id,
    runId: row.runId,
    characterId: row.characterId,
    playerId: row.playerId,
    actor: row.actor,
    kind: row.kind,
    input: row.input,
    resolution: row.resolution,
    events: row.events,
    deltas: upgradeDeltas(row.deltas),
    status: undone ? "undone" : "applied",
    narration: row.narration,
    createdAt: iso(row.createdAt),
  };
}

export function toTurnRow(turn: Turn): typeof schema.turns.$inferInsert {
  return {
    universeId: turn.universeId,
    position: turn.position,
    createdAt: new Date(turn.createdAt),
    actor: turn.actor,
    kind: turn.kind,
    status: turn.status,
    id: turn.id,
    runId: turn.runId,
    characterId: turn.characterId,
    playerId: turn.playerId,
    input: turn.input,
    resolution: turn.resolution,
    events: turn.events,
    deltas: turn.deltas,
    narration: turn.narration,
  };
}

/** A snapshot row with its document read whole and parsed (states.ts). */
export type SnapshotRow = Omit<typeof schema.snapshots.$inferSelect, "state" | "skeleton" | "parts"> & {
  state: Record<string, unknown>;
};

export function toSnapshot(row: SnapshotRow, viewUniverseId: string): Snapshot {
  return {
    universeId: viewUniverseId,
    position: row.position,
    state: row.state,
    checksum: row.checksum,
    reason: row.reason,
    createdAt: iso(row.createdAt),
  };
}

/** The dice columns stay behind: a secret reaches only the TurnStore's dice methods. */
export function toUniverse(row: typeof schema.universes.$inferSelect): UniverseRecord {
  return {
    id: row.id,
    name: row.name,
    parentId: row.parentId,
    branchPosition: row.branchPosition,
    headPosition: row.headPosition,
    status: row.status,
    visibility: row.visibility,
    createdAt: iso(row.createdAt),
    diceCommitment: row.diceCommitment,
    diceRevealedAt: isoOrNull(row.diceRevealedAt),
    createdBy: row.createdBy,
    settings: row.settings,
  };
}

/** Only the public fields: the row also holds the password hash. */
export function toPlayer(row: typeof schema.players.$inferSelect): PlayerRecord {
  return { id: row.id, name: row.name, createdAt: iso(row.createdAt) };
}

export function toCharacter(row: typeof schema.characters.$inferSelect): CharacterRecord {
  return { ...row, createdAt: iso(row.createdAt) };
}

export function toRun(row: typeof schema.runs.$inferSelect): RunRecord {
  return { ...row, createdAt: iso(row.createdAt), updatedAt: iso(row.updatedAt) };
}

export function toSession(row: typeof schema.playSessions.$inferSelect): PlaySessionRecord {
  const endReason = row.endReason === "left" || row.endReason === "interrupted" ? row.endReason : null;
  return { ...row, endReason, startedAt: iso(row.startedAt), endedAt: isoOrNull(row.endedAt) };
}

export function toProgression(row: typeof schema.progression.$inferSelect): ProgressionRecord {
  return { ...row, updatedAt: iso(row.updatedAt) };
}
