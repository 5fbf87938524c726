import { log } from "../log.ts";
import type { AppendBatch, AppendRequest, NarrationRecord } from "./turn-store.ts";

/**
 * What a write through the stores may change of what a timeline read returns: universes' records
 * (head, members, settings) and stored turns (narration, undo marks). Turns are otherwise never
 * rewritten: the log only grows, and undo and retcon are later turns.
 */
export interface TimelineChange {
  /** Universes whose record may change; "all" when the write does not say which. */
  records: readonly string[] | "all";
  /**
   * Universes whose head alone may move (an append): the rest of the record stands, and a head
   * read before the move is one the universe had, which a reader that also reads the live stream
   * can still use (live-turn.ts).
   */
  heads?: readonly string[];
  /** Stored turns that may change; a null position stands for every turn of the universe. */
  turns: ReadonlyArray<{ universeId: string; position: number | null }> | "all";
}

export type ChangeListener = (change: TimelineChange) => void;

/**
 * Told of every write before it is sent and again once it has settled (succeeded or failed), so
 * that a copy of a read can be dropped while the write may be under way and after it: a read
 * that overlapped either call saw the data before the write, or after it.
 */
export interface TimelineWatch {
  watchChanges(listener: ChangeListener): () => void;
}

/**
 * Optional beside `watchChanges`: false while changes may go untold (a store whose other writers
 * are heard over a connection that is down); nothing read meanwhile may be kept.
 */
export interface TimelineWatching {
  watching?(): boolean;
  /** Resolves once every change committed anywhere before the call has been told (tests, tools). */
  caughtUp?(): Promise<void>;
}

const NONE: TimelineChange = { records: [], turns: [] };
const EVERY_RECORD: TimelineChange = { records: "all", turns: [] };
/** Whatever may have changed while changes went untold. */
export const EVERYTHING: TimelineChange = { records: "all", turns: "all" };

function appended(requests: ReadonlyArray<{ universeId: string; batch: AppendBatch }>): TimelineChange {
  return {
    records: [],
    heads: requests.map((request) => request.universeId),
    turns: requests.flatMap(({ universeId, batch }) =>
      (batch.undone ?? []).map((position) => ({ universeId, position })),
    ),
  };
}

export type Classify = (args: unknown[]) => TimelineChange | null;
const read: Classify = () => null;
const onlyElsewhere: Classify = () => NONE;
const records: Classify = () => EVERY_RECORD;

/**
 * Every method of the TurnStore port, by what it may change (null: a read). A method missing here
 * is a compile error in worker-store.ts and watched-stores.ts, so a new write cannot go unclassified.
 */
export const TURN_STORE_CHANGES = {
  createUniverse: records,
  getUniverse: read,
  descendsFrom: read,
  listUniverses: read,
  branchUniverse: records,
  headPosition: read,
  diceChain: read,
  revealDice: ([universeId]) => ({
    records: [universeId as string],
    turns: [{ universeId: universeId as string, position: null }],
  }),
  appendTurns: ([universeId, batch]) =>
    appended([{ universeId: universeId as string, batch: batch as AppendBatch }]),
  appendMany: ([requests]) => appended(requests as AppendRequest[]),
  beginImport: records,
  importBatch: records,
  commitImport: records,
  abortImport: records,
  settleSearchIndex: onlyElsewhere,
  searchIndexedThrough: read,
  getTurn: read,
  universeAndTurn: read,
  turnsBetween: read,
  turnTexts: read,
  turnJsonPage: read,
  snapshotTexts: read,
  timeline: read,
  matchingTurns: read,
  awayTurns: read,
  untoldTurns: read,
  setNarration: ([universeId, position]) => ({
    records: [],
    turns: [{ universeId: universeId as string, position: position as number }],
  }),
  setNarrations: ([list]) => ({
    records: [],
    turns: (list as NarrationRecord[]).map(({ universeId, position }) => ({ universeId, position })),
  }),
  appendRetelling: ([universeId, position]) => ({
    records: [],
    turns: [{ universeId: universeId as string, position: position as number }],
  }),
  getSnapshotAtOrBefore: read,
  stateAt: read,
  stateWithoutChecksum: read,
  latestState: read,
  warm: read,
  verifySnapshot: read,
  listSnapshots: read,
  // snapshots only: a timeline read takes none of it
  replaceSnapshot: onlyElsewhere,
  createPlayer: onlyElsewhere,
  getPlayer: read,
  createCharacter: onlyElsewhere,
  getCharacter: read,
  createRun: onlyElsewhere,
  getRun: read,
  listRuns: read,
  listSessions: read,
  openSessions: read,
  getProgression: read,
} satisfies Record<string, Classify>;

/** The membership port: members, invites, visibility, limits and hand-overs are in universes' records. */
export const MEMBERSHIP_CHANGES = {
  getMember: read,
  listMembers: read,
  addMember: records,
  removeMember: records,
  removeFromBranches: records,
  readmitToBranches: records,
  copyMembers: records,
  handOver: records,
  createInvite: records,
  listInvites: read,
  revokeInvite: records,
  acceptInvite: records,
  setVisibility: records,
  setCharacterLimits: records,
  listVisibleUniverses: read,
  membershipsOf: read,
  createCharacterWithRun: records,
  startRun: onlyElsewhere,
} satisfies Record<string, Classify>;

/** Accounts, refresh tokens, idempotency keys, leases and save points live in tables of their own. */
export const elsewhere: Classify = onlyElsewhere;

/** Listeners told of each change; one that throws does not stop the others or the write. */
export class ChangeFeed implements TimelineWatch {
  private readonly listeners = new Set<ChangeListener>();

  watchChanges(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tell(change: TimelineChange): void {
    if (change.records.length === 0 && change.turns.length === 0 && !change.heads?.length) return;
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        // the write goes ahead: a listener's failure is its own
        log.error("a timeline change listener failed", { err });
      }
    }
  }
}

/**
 * Runs a write, telling `feed` what it may change before it is sent and once it has settled; a
 * read (null change) runs untold.
 */
export function toldAround<T>(
  feed: ChangeFeed,
  change: TimelineChange | null,
  write: () => Promise<T>,
): Promise<T> {
  if (!change) return write();
  feed.tell(change);
  const settled = () => feed.tell(change);
  const result = write();
  result.then(settled, settled);
  return result;
}
