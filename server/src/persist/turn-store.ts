import type { TimelineWatch } from "./timeline-changes.ts";
import type { StateParts } from "./snapshot-parts.ts";
import type {
  CharacterRecord,
  Narration,
  Telling,
  PlayerRecord,
  PlaySessionRecord,
  ProgressionRecord,
  RunRecord,
  SavePointRecord,
  Snapshot,
  StateAt,
  TimelinePage,
  TimelineQuery,
  Turn,
  UniverseRecord,
  UniverseState,
} from "@loom/shared";

export type {
  CharacterRecord,
  PlayerRecord,
  PlaySessionRecord,
  ProgressionRecord,
  RunRecord,
  RunState,
  StateAt,
  TimelinePage,
  TimelineQuery,
  UniverseRecord,
} from "@loom/shared";

/**
 * The TurnStore port: durable storage of universes, their timelines, snapshots and the records
 * around them (players, characters, runs, play sessions, progression). Two adapters implement it
 * (Postgres via postgres.js, embedded PGlite) and one contract suite runs against both.
 *
 * Times are stored as timestamptz and read back in `Date#toISOString` form (UTC, milliseconds):
 * a turn written with its times in that form reads back equal to what was appended.
 */

/** The store gives a new universe its dice secret. */
export interface NewUniverse {
  id: string;
  name: string;
  createdBy: string;
  settings?: Record<string, unknown>;
}

/**
 * One stretch of a timeline's dice as stored, secret included: what the universe's authority rolls
 * with, and what a reveal discloses (shared `DiceSegment`, whose secret is null until revealed).
 */
export interface StoredDice {
  universeId: string;
  /** The stretch covers the positions after this one (a branch position, 0 for a root). */
  from: number;
  commitment: string;
  revealedAt: string | null;
  secret: string;
  legacyThrough: number;
  legacySeed: number | null;
}

export interface AppendRequest {
  universeId: string;
  batch: AppendBatch;
}

export type AppendOutcome =
  | { ok: true; head: number }
  /** `conflict`: the head the universe has instead of the expected one (AppendConflictError). */
  | {
      ok: false;
      conflict: number | null;
      message: string;
      /** The error's class (a SQLSTATE such as `53100`, else its name): what the fault log reports. */
      code?: string;
    };

/**
 * A snapshot whose state is already its canonical JSON (computed for its checksum): the store
 * writes the text as it is, and the worker store sends the text to its thread instead of the
 * state's object graph: one string copies an order of magnitude faster than a large state's
 * objects clone, and nothing is serialized a second time on the other side.
 */
export type EncodedSnapshot = Omit<Snapshot, "state"> & { stateJson: string };

/**
 * A snapshot whose canonical JSON is already cut around its parts (snapshot-parts.ts): what the
 * authority writes, the parts the universe stored before left for the store to skip.
 */
export type PartedSnapshot = Omit<Snapshot, "state"> & { stateParts: StateParts };

/** What an append writes as a snapshot: a state, its canonical JSON, or that JSON by part. */
export type SnapshotWrite = Snapshot | EncodedSnapshot | PartedSnapshot;

export interface AppendBatch {
  /** Head the writer believes the universe has; a different head is a conflict. */
  expectedHead: number;
  turns: Turn[];
  snapshots?: SnapshotWrite[];
  /**
   * Positions this batch marks `undone` (the targets of its undo turns), paired in order with the
   * batch's `undo` turns: the n-th position is credited to the n-th undo turn, or to the batch's
   * last position when there are fewer undo turns. A branch that shares a marked turn with its
   * parent sees it undone only if the undo turn is part of its own timeline.
   */
  undone?: number[];
}

/**
 * A turn whose JSON members are already JSON text, as an import has them: the store writes the
 * text as it is, and the reader's parsed values need not live until their batch is written (held
 * a batch long, they cost more in collections than their serializing does).
 */
export type EncodedTurn = Omit<Turn, "input" | "resolution" | "events" | "deltas" | "narration"> & {
  json: {
    input: string;
    resolution: string | null;
    events: string;
    deltas: string;
    narration: string | null;
  };
};

/**
 * Turns already written out as COPY rows (turn-rows.ts: turnRow, in TURN_COLUMNS' order, UTF-8),
 * as an import's checking thread hands them over: the store writes the bytes as they are. They
 * are of `universeId`, at the consecutive positions `first` to `first + count - 1`, with the undo
 * marks of turns undone by turns among them already in their rows.
 */
export interface TurnRows {
  universeId: string;
  first: number;
  count: number;
  chunks: Array<Uint8Array<ArrayBuffer>>;
}

/**
 * A batch of an import (TimelineStore.importBatch): an append's, its turns as they are, encoded,
 * or as rows. Rows carry no kinds to pair `undone` with: their undo marks not in the rows come as
 * `marks`, each with the position of the turn that undid it. `savePoints` are the imported
 * universe's, as they were named (time included), at positions up to the batch's last: those of
 * players this database does not have are left out, and the cap a player has is not applied (the
 * file holds what its source had).
 */
export type ImportBatch = Omit<AppendBatch, "turns"> & {
  turns: Array<Turn | EncodedTurn> | TurnRows;
  marks?: Array<{ position: number; undoneBy: number }>;
  savePoints?: Array<Omit<SavePointRecord, "universeId">>;
};

/**
 * Where an imported timeline starts: a new universe from its genesis state, or a branch of a
 * universe in this database at a position (copy-on-write, as `branchUniverse`).
 */
export type ImportStart =
  | { universe: NewUniverse; genesis: UniverseState }
  | { universe: NewUniverse; parentId: string; position: number };

/** A stale head or a duplicate position: nothing of the batch was written. */
export class AppendConflictError extends Error {
  constructor(
    readonly universeId: string,
    readonly expectedHead: number,
    readonly actualHead: number,
  ) {
    super(`append to ${universeId} expected head ${expectedHead} but found ${actualHead}`);
    this.name = "AppendConflictError";
  }
}

/** A replayed state whose checksum differs from a stored snapshot. Reported, never accepted. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly universeId: string,
    readonly position: number,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`snapshot ${universeId}@${position} checksum ${expected} but replay gives ${actual}`);
    this.name = "ChecksumMismatchError";
  }
}

/**
 * A store asked for something once it was closed (the server is stopping): the caller may try
 * again against the next process, as the HTTP API answers (503 unavailable).
 */
export class StoreClosedError extends Error {
  constructor() {
    super("the database is closed: the server is stopping");
    this.name = "StoreClosedError";
  }
}

/**
 * Whether `error`, or an error it wraps, says the store is closed: ours, or PGlite's own when the
 * embedded database runs on the server's thread (LOOM_PGLITE_WORKER=0).
 */
export function isStoreClosed(error: unknown): boolean {
  for (let at: unknown = error; at instanceof Error; at = at.cause) {
    if (at instanceof StoreClosedError || at.message === "PGlite is closed") return true;
  }
  return false;
}

/**
 * A universe that does not open because the snapshot its state starts from does not match its
 * checksum: serving play on it would build on a state nobody can vouch for. `loom verify <universe>
 * --repair` rebuilds the snapshot from the one before it and the turns since.
 */
export class DamagedSnapshotError extends Error {
  readonly code = "damaged_snapshot";
  constructor(
    readonly universeId: string,
    readonly position: number,
  ) {
    super(
      `universe ${universeId} does not open: its snapshot at position ${position} does not match its checksum ` +
        `(loom verify ${universeId} --repair rebuilds it)`,
    );
    this.name = "DamagedSnapshotError";
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
    this.name = "NotFoundError";
  }
}

/**
 * How many branches deep a universe may be (a root is 0): every read of a timeline walks its
 * ancestors, so a chain of branches of branches made in a loop would slow every jump, export and
 * open of the deepest without bound.
 */
export const BRANCH_DEPTH_MAX = 32;

/** A branch of a universe already BRANCH_DEPTH_MAX branches deep. */
export class BranchDepthError extends Error {
  constructor(readonly parentId: string) {
    super(
      `universe ${parentId} is a branch ${BRANCH_DEPTH_MAX} levels deep, the most there may be: branch from an earlier universe of its line`,
    );
    this.name = "BranchDepthError";
  }
}

/** A player who created as many universes (branches count) as a player may. */
export class TooManyUniversesError extends Error {
  constructor(
    readonly createdBy: string,
    readonly max: number,
  ) {
    super(`a player may create ${max} universes, branches included`);
    this.name = "TooManyUniversesError";
  }
}

/** "While you were away" (see TurnStore.awayTurns). */
export interface NarrationRecord {
  universeId: string;
  position: number;
  narration: Narration;
}

export interface AwayQuery {
  /** Turns at positions in (after, through]. */
  after: number;
  through: number;
  /** The character coming back: its own turns (played in a run) are not news to it; the GM's on it are. */
  characterId: string;
  /** The newest this many turns are returned. */
  limit: number;
  /** Turns are counted up to this many. */
  countUpTo: number;
}

/** Turns left without narration (see TurnStore.untoldTurns). */
export interface UntoldQuery {
  /** Turns at positions in (after, through]; no upper bound without `through`. */
  after: number;
  through?: number;
  /** The oldest this many are returned. */
  limit: number;
  /** Whether to count them all (`total`), beyond the page. */
  count?: boolean;
}

export interface UntoldTurns {
  /** The oldest untold turns of the range, ascending. */
  turns: Turn[];
  /** How many the range holds in all, when asked; null otherwise. */
  total: number | null;
}

export interface AwayTurns {
  /** The newest qualifying turns, ascending. */
  turns: Turn[];
  /** How many qualify in all, counted up to `countUpTo`. */
  total: number;
}

/**
 * The timelines: universes, their turns, snapshots, states and dice. Written only by appends (a
 * turn is never changed, except for its write-once narration and its `undone` mark).
 */
export interface TimelineStore {
  // universes and timelines
  /**
   * With `maxByCreator`, refused (TooManyUniversesError) when its creator already created that
   * many, counted under a lock on the creator so that parallel requests cannot pass it together.
   */
  createUniverse(
    universe: NewUniverse,
    genesis: UniverseState,
    options?: { maxByCreator?: number },
  ): Promise<UniverseRecord>;
  getUniverse(id: string): Promise<UniverseRecord | null>;
  /** Whether `universeId` is `ancestorId` or a branch descending from it, read in one statement. */
  descendsFrom(universeId: string, ancestorId: string): Promise<boolean>;
  listUniverses(options?: { limit?: number; createdBy?: string }): Promise<UniverseRecord[]>;
  /** Copy-on-write: stores a pointer (parent, position), never the parent's turns. */
  branchUniverse(input: {
    id: string;
    parentId: string;
    position: number;
    name: string;
    createdBy: string;
    /** Merged over the parent's settings, which a branch otherwise keeps. */
    settings?: Record<string, unknown>;
    /** As createUniverse's: a branch is a universe its creator created. */
    maxByCreator?: number;
  }): Promise<UniverseRecord>;
  headPosition(universeId: string): Promise<number>;
  /** The dice of the timeline's stretches, the universe's own first. NotFoundError if unknown. */
  diceChain(universeId: string): Promise<StoredDice[]>;
  /** Records the reveal of the universe's dice secret (the first time only); returns its time. */
  revealDice(universeId: string): Promise<string>;
  /**
   * Atomic: the head check, the turns, the snapshots (upserted) and the undo marks in one
   * transaction. A stale head or a duplicate key throws AppendConflictError and writes nothing;
   * a batch whose turns do not follow `expectedHead` one by one throws RangeError.
   */
  appendTurns(universeId: string, batch: AppendBatch): Promise<{ head: number }>;
  /**
   * Group commit: the batches of several universes in one transaction, each with the guarantees
   * of appendTurns. A batch that conflicts or fails does not take the others with it: the group
   * is then written universe by universe. One outcome per request, in order (data rather than
   * errors, so it crosses a worker boundary intact).
   */
  appendMany(requests: AppendRequest[]): Promise<AppendOutcome[]>;
  /**
   * A whole timeline written in one transaction (an import): `beginImport` creates the universe
   * (or the branch) in it; `importBatch` adds turns, snapshots and undo marks in position order,
   * with appendTurns' checks, written in bulk, and save points (returning how many it wrote);
   * `commitImport` makes all of it visible at once.
   * `abortImport`, a batch that fails, or a caller that goes away leaves nothing of it. Runs,
   * sessions and progression are not projected: they are records of this database's own play,
   * and a universe just created has no runs. Until it ends nothing of it is visible, and on the
   * embedded database (one connection) other queries wait for it.
   */
  beginImport(start: ImportStart): Promise<{ importId: string; universe: UniverseRecord }>;
  importBatch(importId: string, batch: ImportBatch): Promise<{ head: number; savePoints: number }>;
  commitImport(importId: string): Promise<UniverseRecord>;
  abortImport(importId: string): Promise<void>;
  /**
   * Full-text search is indexed behind the log (search-index.ts): a search finds a persisted turn
   * at once, and reads its document from the index once the indexer has passed it. This waits
   * until the indexer has nothing due (or a pass failed); what a command that appended calls
   * before it closes, so that it leaves nothing for a server's start to index.
   */
  settleSearchIndex(): Promise<void>;
  /** How far the search indexer has gone in the universe's own turns (0 before any). */
  searchIndexedThrough(universeId: string): Promise<number>;
  getTurn(universeId: string, position: number): Promise<Turn | null>;
  /**
   * The universe's record and its turn at `position` (null at 0 and past the head), as one read
   * saw them: every turn at or below the record's head was stored, undo marks included, when the
   * turn was read. Null when there is no such universe.
   */
  universeAndTurn(
    universeId: string,
    position: number,
  ): Promise<{ universe: UniverseRecord; turn: Turn | null } | null>;
  /** Turns in (from, to], ascending, following the parent chain of a branch. */
  turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]>;
  /** Ascending unless asked; 50 turns a page by default, at most 500. Turns read through a branch carry the branch's id. */
  /**
   * The turns in (from, to] in position order with their JSON columns as the database's text,
   * unparsed: for exports, which write them out as they are (`deltas: false` leaves the largest
   * column behind for readers that do not need it).
   */
  turnTexts(
    universeId: string,
    from: number,
    to: number,
    options?: { deltas?: boolean },
  ): Promise<TurnText[]>;
  /**
   * The turns in (from, to] as one text, a turn's JSON a line (the shape of the API's turns, the
   * JSON members as the database keeps them, deltas as recorded), in position order: a page of a
   * game master's export without a row object a turn. `deltas: false` leaves the
   * largest column in the database (each turn's `deltas` is then `[]`); `type` puts a first member
   * `"type": type` in every line (an export's turn lines, written as they come). `story: true`
   * writes only the members the Markdown story reads (`StoryTurn`, deltas `[]`): no universe, turn
   * or player id and no actor, less for the database to write and the reader to parse.
   */
  turnJsonPage(
    universeId: string,
    from: number,
    to: number,
    options?: { deltas?: boolean; type?: string; story?: boolean },
  ): Promise<TurnJsonPage>;
  /**
   * Snapshots' documents as their stored text (canonical JSON), by position, those found of
   * `positions` in the row of `storedIn` (from listSnapshots); one stored by part with a part
   * missing is left out (damaged). One query, and for each snapshot stored by part one more for
   * the parts this process has not read.
   */
  snapshotTexts(storedIn: string, positions: readonly number[]): Promise<Map<number, string>>;
  timeline(universeId: string, query?: TimelineQuery): Promise<TimelinePage>;
  /**
   * The positions among `candidates` (acknowledged turns not stored yet) that the filters of a
   * timeline query (character, run, kind, search) would match if they were stored; ascending.
   */
  matchingTurns(candidates: Turn[], query: TimelineQuery): Promise<number[]>;
  /**
   * "While you were away": the newest applied turns in (after, through] of other characters and
   * the game master's world events that carry a major event a player may see (no hidden roll or
   * event; session, undo and retcon turns aside), and how many there are, counted up to a cap.
   * Read from an index of the major turns newest first, so its cost does not grow with the timeline.
   */
  awayTurns(universeId: string, query: AwayQuery): Promise<AwayTurns>;
  /**
   * The universe's own turns (not those it inherits) that have no narration yet, oldest first:
   * what a process that died, or an endpoint that never answered, left untold. Read from a
   * partial index of such turns, so its cost follows how many there are, not the timeline's length.
   */
  untoldTurns(universeId: string, query: UntoldQuery): Promise<UntoldTurns>;
  /** Write-once: a second narration for the same turn is ignored and returns false. */
  setNarration(universeId: string, position: number, narration: Narration): Promise<boolean>;
  /**
   * setNarration for many turns, of any universes, in one transaction (a narrator finishing 200
   * tellings a second would otherwise cost 200 commits). One answer per record, in order: false
   * for a turn that already had narration, or an earlier record in the call for the same turn.
   * NotFoundError, and nothing written, when a turn does not exist.
   */
  setNarrations(records: NarrationRecord[]): Promise<boolean[]>;
  /**
   * Appends a retelling to a turn's narration; the first telling and earlier retellings are kept.
   * False when the turn has no narration yet (there is nothing to retell).
   */
  appendRetelling(universeId: string, position: number, telling: Telling): Promise<boolean>;

  // snapshots and state
  /** Following the parent chain; a snapshot read through a branch carries the branch's id. */
  getSnapshotAtOrBefore(universeId: string, position: number): Promise<Snapshot | null>;
  /** Nearest snapshot + the deltas after it. NotFoundError for an unknown universe or a position past the head. */
  stateAt(universeId: string, position: number): Promise<StateAt>;
  /**
   * `stateAt` without the checksum of the replayed state, which on a large world costs more than the
   * rest of the read: for a scrubber that shows states, not one that verifies them. Snapshots read
   * are still checked against their checksums.
   */
  stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">>;
  /**
   * The state at the head. `recheck`: every snapshot read is hashed against its checksum again,
   * even one this process found intact before (a universe being opened: its snapshot may have been
   * damaged since). `checksummed: false` leaves the replayed state's checksum out (an empty
   * string), as stateWithoutChecksum does: a universe being opened goes on from the state, and on
   * a large world the checksum costs a third of the open.
   */
  latestState(universeId: string, options?: { recheck?: boolean; checksummed?: boolean }): Promise<StateAt>;
  /**
   * Prepares what opening a universe reads with, on `connections` of the store's connections at
   * once: a server does it once at start, on one, so that its first room opens as fast as those
   * after. Reads nothing of any universe.
   */
  warm(connections: number): Promise<void>;
  /** Replays up to the snapshot's position and throws ChecksumMismatchError when they differ. */
  verifySnapshot(universeId: string, position: number): Promise<void>;
  /** The snapshots of the timeline (its ancestors' up to the branch points, then its own), ascending, documents left out. */
  listSnapshots(universeId: string): Promise<SnapshotInfo[]>;
  /**
   * Writes a snapshot in place of the one stored at its position in `snapshot.universeId` (a
   * repair: `loom verify --repair`). The caller has checked the state against the timeline.
   */
  replaceSnapshot(snapshot: Snapshot): Promise<void>;
}

/** A turn as stored, its JSON columns as text (see `turnTexts`); `universeId` the timeline read. */
export interface TurnText {
  universeId: string;
  position: number;
  id: string;
  runId: string | null;
  characterId: string | null;
  playerId: string | null;
  actor: Turn["actor"];
  kind: Turn["kind"];
  status: Turn["status"];
  createdAt: string;
  input: string;
  resolution: string | null;
  events: string;
  /** Null when read without deltas. */
  deltas: string | null;
  narration: string | null;
}

/** A turn as a story page of turnJsonPage has it (`story: true`). */
export type StoryTurn = Omit<Turn, "universeId" | "id" | "playerId" | "actor">;

/** Turns as JSON lines (see `turnJsonPage`). */
export interface TurnJsonPage {
  /** One turn's JSON a line, each line ending in `\n`; "" when there are none. */
  json: string;
  turns: number;
  /** The last position in the page (`from` when empty). */
  last: number;
}

/** A snapshot without its document: what lists and exports name. */
export interface SnapshotInfo {
  universeId: string;
  /** The universe whose row holds it: the universe itself, or an ancestor for a shared position. */
  storedIn: string;
  position: number;
  checksum: string;
  reason: Snapshot["reason"];
  createdAt: string;
}

/** The people and their story around the timelines. */
export interface RecordStore {
  // players, characters, runs, sessions, progression: runs, sessions and progression change only
  // as projections of appended turns (project.ts), never by a write of their own
  createPlayer(player: { id: string; name: string }): Promise<PlayerRecord>;
  getPlayer(id: string): Promise<PlayerRecord | null>;
  createCharacter(character: Omit<CharacterRecord, "createdAt">): Promise<CharacterRecord>;
  getCharacter(id: string): Promise<CharacterRecord | null>;
  createRun(
    run: Pick<RunRecord, "id" | "playerId" | "characterId" | "universeId" | "therapeuticFocus">,
  ): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | null>;
  listRuns(filter: { playerId?: string; universeId?: string; characterId?: string }): Promise<RunRecord[]>;
  listSessions(runId: string): Promise<PlaySessionRecord[]>;
  /** The universe's play sessions that have not ended (after a crash, those its next owner closes). */
  openSessions(universeId: string): Promise<PlaySessionRecord[]>;
  getProgression(playerId: string): Promise<ProgressionRecord>;
}

/**
 * Both ports over one database: an append writes the turns and projects the records they change
 * in one transaction, so the adapters implement the two together.
 */
export interface TurnStore extends TimelineStore, RecordStore {
  readonly driver: "postgres" | "pglite";
  close(): Promise<void>;
  /**
   * Present where the store hears of every write to the database: listeners are told what each
   * may change (timeline-changes.ts), so a copy of a read can be kept until then. The embedded
   * store sees every write pass; the Postgres one as the server opens it is told of this process's
   * writes the same way and of other processes' by the database (timeline-notices.ts).
   */
  watchChanges?: TimelineWatch["watchChanges"];
  /** False while changes may go untold (the database's notices are not heard): keep nothing. */
  watching?(): boolean;
  /** Resolves once every change committed before the call has been told to `watchChanges` listeners. */
  caughtUp?(): Promise<void>;
}
