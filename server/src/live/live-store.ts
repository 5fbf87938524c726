import type { Turn, UniverseState } from "@loom/shared";

/**
 * The LiveStore port: the live side of an active universe. Adapters: Redis (ioredis), a local
 * write-ahead log file (embedded mode on disk) and memory (nothing durable: tests, in-memory runs).
 *
 * - a per-universe write-ahead stream of turns not yet persisted to the TurnStore; a turn is
 *   live-durable once `appendTurns` resolves;
 * - the universe's current state (written by the owner on its ticks) for fast reads elsewhere;
 * - an ownership lock with a fencing token: only the holder of the newest token may append.
 */

export interface Lease {
  universeId: string;
  owner: string;
  /** Strictly increasing per universe across all owners: a newer owner always has a larger token. */
  token: number;
}

/** The caller's lease is no longer the current one: another process owns the universe now. */
export class FencedError extends Error {
  constructor(
    readonly universeId: string,
    readonly token: number,
  ) {
    super(`lease ${token} on universe ${universeId} is no longer current`);
    this.name = "FencedError";
  }
}

/**
 * A turn's position is not after the stream's last position (a duplicate or out of order), or a
 * batch is not strictly ascending. Nothing of the batch was written.
 */
export class TurnOrderError extends Error {
  constructor(
    readonly universeId: string,
    readonly position: number,
  ) {
    super(`turn ${position} of universe ${universeId} is not after the stream's last position`);
    this.name = "TurnOrderError";
  }
}

/** The write-ahead stream as one read saw it (`LiveStore.readStream`). */
export interface StreamView {
  /** Its turns, ascending. */
  turns: Turn[];
  /** The last position it took, trimmed ones included; 0 when there is no stream. */
  last: number;
}

export interface LiveStore {
  /** "memory" keeps nothing across a restart: a turn appended there is not yet durable. */
  readonly kind: "redis" | "file" | "memory";
  close(): Promise<void>;
  /** Resolves when the store answers (readiness and health checks); rejects as its calls would. */
  ping(): Promise<void>;

  /**
   * Takes the universe's lock if free, or returns null. When `owner` already holds it, returns the
   * same lease (same token) and extends the lock to `ttlMs`. A new token is above `floor` (the
   * highest the caller knows was ever issued: a store that lost its counter must not repeat one).
   */
  acquire(universeId: string, owner: string, ttlMs: number, floor?: number): Promise<Lease | null>;
  /** Extends the lock; false when it was lost (expired and taken by another owner). */
  renew(lease: Lease, ttlMs: number): Promise<boolean>;
  release(lease: Lease): Promise<void>;
  /** Current holder of the lock, if any. */
  owner(universeId: string): Promise<{ owner: string; token: number } | null>;

  /**
   * Appends turns to the write-ahead stream, all or nothing. Throws FencedError for a stale lease
   * and TurnOrderError unless positions ascend strictly and follow every position ever appended
   * (trimmed ones included).
   */
  appendTurns(lease: Lease, turns: Turn[]): Promise<void>;
  /**
   * Whether the universe's write-ahead stream exists. Once made (`ensureStream`, or the first
   * append) it stays, emptied by trims, until `drop`: a missing one after that means the store lost
   * its data. Stores that lose their streams only together with the process's own say true.
   */
  streamExists(universeId: string): Promise<boolean>;
  /**
   * Makes the stream if it is missing, refusing positions up to `afterPosition` as if appended
   * (the database has them); a stream that exists is left as it is. FencedError for a stale lease.
   */
  ensureStream(lease: Lease, afterPosition: number): Promise<void>;
  /** Turns in the stream with a position greater than `afterPosition`, ascending. */
  readTail(universeId: string, afterPosition: number): Promise<Turn[]>;
  /**
   * The position of the newest turn in the stream, 0 when it holds none: a universe's head for a
   * reader that needs nothing else, read without the turns (a stream may hold thousands of them
   * while the database lags).
   */
  streamHead(universeId: string): Promise<number>;
  /**
   * The whole stream and the last position it ever took (appended, trimmed or refused by
   * `ensureStream`; 0 without a stream), read at one instant. Every turn acknowledged through the
   * stream is at or below `last`: a reader that also knows what the TurnStore held can tell whether
   * the two together miss a turn, whichever it read first (live-turn.ts).
   */
  readStream(universeId: string): Promise<StreamView>;
  /**
   * Where the store is another process's (Redis), reads of the stream answered from copies kept
   * until the store says the stream changed, for readers that come back to one stream often (the
   * timeline scrubber). Absent where a read is already local.
   */
  streamCopies?(): Pick<LiveStore, "readStream"> & {
    /** Reads answered from a copy, and reads sent to the store. */
    readonly counts: { copies: number; reads: number };
  };
  /** Drops stream entries up to and including `throughPosition` (they are persisted). */
  trim(universeId: string, throughPosition: number): Promise<void>;

  /** Replaces the universe's current state; throws FencedError for a stale lease. */
  putState(lease: Lease, position: number, state: UniverseState): Promise<void>;
  getState(universeId: string): Promise<{ position: number; state: UniverseState } | null>;

  /** Removes everything the store holds for a universe (tests, deleted universes). */
  drop(universeId: string): Promise<void>;
}
