import type { Narration, Snapshot, Telling, Turn, UniverseState } from "@loom/shared";
import { sql } from "drizzle-orm";
import { appendMany, appendTurns } from "./append.ts";
import { askedOnce } from "./row-checks.ts";
import type { AppendThread } from "./append-thread.ts";
import { Ancestry } from "./ancestry.ts";
import { TimelineImports } from "./imports.ts";
import { Records } from "./records.ts";
import { indexedThrough, SearchIndexer, type SearchIndexOptions } from "./search-index.ts";
import { rowsOf, type Db } from "./rows.ts";
import { universes as universesTable } from "./schema.ts";
import { StateReader } from "./states.ts";
import { upsertSnapshots } from "./snapshot-writes.ts";
import { TimelineReader } from "./timeline.ts";
import type {
  NarrationRecord,
  AppendBatch,
  AppendOutcome,
  AppendRequest,
  AwayQuery,
  AwayTurns,
  ImportBatch,
  ImportStart,
  NewUniverse,
  SnapshotInfo,
  TurnJsonPage,
  TurnText,
  StateAt,
  StoredDice,
  TimelinePage,
  TimelineQuery,
  UntoldQuery,
  UntoldTurns,
  TurnStore,
  UniverseRecord,
} from "./turn-store.ts";
import { BRANCH_DEPTH_MAX, BranchDepthError } from "./turn-store.ts";
import * as universes from "./universes.ts";

/**
 * The TurnStore over a drizzle Postgres database. Both adapters share it: they differ only in how
 * the database is opened, migrated and closed (see index.ts).
 */
export class DrizzleTurnStore extends Records implements TurnStore {
  private readonly ancestry: Ancestry;
  private readonly timelines: TimelineReader;
  private readonly states: StateReader;
  private readonly search: SearchIndexer;
  private readonly imports: TimelineImports;
  /** Whether appends may write their turns without the foreign key's check (row-checks.ts). */
  private readonly uncheckedRows: () => Promise<boolean>;

  constructor(
    readonly driver: "postgres" | "pglite",
    db: Db,
    private readonly onClose: () => Promise<void>,
    clock: () => Date = () => new Date(),
    searchIndex: SearchIndexOptions = {},
    /** Where group commits are made instead of on this thread (append-thread.ts); closed with the store. */
    private readonly appendThread: AppendThread | null = null,
  ) {
    super(db, clock);
    this.ancestry = new Ancestry(db);
    this.timelines = new TimelineReader(db, this.ancestry);
    this.states = new StateReader(db, this.ancestry);
    this.search = new SearchIndexer(db, searchIndex);
    this.imports = new TimelineImports(db, driver, clock);
    this.uncheckedRows = askedOnce(db);
  }

  async close(): Promise<void> {
    await this.imports.abortAll();
    await this.search.close();
    await this.appendThread?.close();
    return this.onClose();
  }

  createUniverse(
    universe: NewUniverse,
    genesis: UniverseState,
    options: { maxByCreator?: number } = {},
  ): Promise<UniverseRecord> {
    return universes.createUniverse(this.db, universe, genesis, this.clock(), options.maxByCreator);
  }

  getUniverse(id: string): Promise<UniverseRecord | null> {
    return universes.getUniverse(this.db, id);
  }

  descendsFrom(universeId: string, ancestorId: string): Promise<boolean> {
    return universes.descendsFrom(this.db, universeId, ancestorId);
  }

  listUniverses(options?: { limit?: number; createdBy?: string }): Promise<UniverseRecord[]> {
    return universes.listUniverses(this.db, options);
  }

  async branchUniverse(input: {
    id: string;
    parentId: string;
    position: number;
    name: string;
    createdBy: string;
    settings?: Record<string, unknown>;
    maxByCreator?: number;
  }): Promise<UniverseRecord> {
    if ((await this.depth(input.parentId)) >= BRANCH_DEPTH_MAX) throw new BranchDepthError(input.parentId);
    return universes.branchUniverse(this.db, input, this.clock());
  }

  /** How many branches deep a universe is: 0 for a root. */
  private async depth(universeId: string): Promise<number> {
    const rows = await this.db.execute(sql`
      with recursive line(id, parent_id, depth) as (
        select id, parent_id, 0 from ${universesTable} where id = ${universeId}
        union all
        select u.id, u.parent_id, line.depth + 1
        from ${universesTable} u join line on u.id = line.parent_id
        where line.depth <= ${BRANCH_DEPTH_MAX}
      )
      select max(depth) as depth from line`);
    return Number(rowsOf<{ depth: number | string | null }>(rows)[0]?.depth ?? 0);
  }

  headPosition(universeId: string): Promise<number> {
    return universes.headPosition(this.db, universeId);
  }

  async diceChain(universeId: string): Promise<StoredDice[]> {
    return universes.diceChain(this.db, await this.ancestry.chain(universeId));
  }

  revealDice(universeId: string): Promise<string> {
    return universes.revealDice(this.db, universeId, this.clock());
  }

  async appendTurns(universeId: string, batch: AppendBatch): Promise<{ head: number }> {
    const appended = await appendTurns(this.db, this.driver, universeId, batch, await this.uncheckedRows());
    this.search.notify([{ universeId, head: appended.head }]);
    return appended;
  }

  async appendMany(requests: AppendRequest[]): Promise<AppendOutcome[]> {
    const outcomes = this.appendThread
      ? await this.appendThread.appendMany(requests)
      : await appendMany(this.db, this.driver, requests, await this.uncheckedRows());
    this.search.notify(
      requests.flatMap(({ universeId }, i) => {
        const outcome = outcomes[i]!;
        return outcome.ok ? [{ universeId, head: outcome.head }] : [];
      }),
    );
    return outcomes;
  }

  beginImport(start: ImportStart): Promise<{ importId: string; universe: UniverseRecord }> {
    return this.imports.begin(start);
  }

  importBatch(importId: string, batch: ImportBatch): Promise<{ head: number; savePoints: number }> {
    return this.imports.write(importId, batch);
  }

  async commitImport(importId: string): Promise<UniverseRecord> {
    const universe = await this.imports.commit(importId);
    this.search.notify([universe.id]);
    return universe;
  }

  abortImport(importId: string): Promise<void> {
    return this.imports.abort(importId);
  }

  settleSearchIndex(): Promise<void> {
    return this.search.settle();
  }

  searchIndexedThrough(universeId: string): Promise<number> {
    return indexedThrough(this.db, universeId);
  }

  getTurn(universeId: string, position: number): Promise<Turn | null> {
    return this.timelines.getTurn(universeId, position);
  }

  universeAndTurn(
    universeId: string,
    position: number,
  ): Promise<{ universe: UniverseRecord; turn: Turn | null } | null> {
    return this.timelines.universeAndTurn(universeId, position);
  }

  turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]> {
    return this.timelines.turnsBetween(universeId, from, to);
  }

  turnTexts(
    universeId: string,
    from: number,
    to: number,
    options?: { deltas?: boolean },
  ): Promise<TurnText[]> {
    return this.timelines.turnTexts(universeId, from, to, options?.deltas ?? true);
  }

  turnJsonPage(
    universeId: string,
    from: number,
    to: number,
    options?: { deltas?: boolean; type?: string; story?: boolean },
  ): Promise<TurnJsonPage> {
    return this.timelines.turnJsonPage(
      universeId,
      from,
      to,
      options?.deltas ?? true,
      options?.type,
      options?.story ?? false,
    );
  }

  snapshotTexts(storedIn: string, positions: readonly number[]): Promise<Map<number, string>> {
    return this.states.snapshotTexts(storedIn, positions);
  }

  timeline(universeId: string, query?: TimelineQuery): Promise<TimelinePage> {
    return this.timelines.timeline(universeId, query);
  }

  matchingTurns(candidates: Turn[], query: TimelineQuery): Promise<number[]> {
    return this.timelines.matching(candidates, query);
  }

  awayTurns(universeId: string, query: AwayQuery): Promise<AwayTurns> {
    return this.timelines.awayTurns(universeId, query);
  }

  untoldTurns(universeId: string, query: UntoldQuery): Promise<UntoldTurns> {
    return this.timelines.untoldTurns(universeId, query);
  }

  setNarration(universeId: string, position: number, narration: Narration): Promise<boolean> {
    return this.timelines.setNarration(universeId, position, narration);
  }
  setNarrations(records: NarrationRecord[]): Promise<boolean[]> {
    return this.timelines.setNarrations(records);
  }
  appendRetelling(universeId: string, position: number, telling: Telling): Promise<boolean> {
    return this.timelines.appendRetelling(universeId, position, telling);
  }

  getSnapshotAtOrBefore(universeId: string, position: number): Promise<Snapshot | null> {
    return this.states.getSnapshotAtOrBefore(universeId, position);
  }

  stateAt(universeId: string, position: number): Promise<StateAt> {
    return this.states.stateAt(universeId, position);
  }

  async stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">> {
    const { checksum: _, ...rest } = await this.states.stateAt(universeId, position, false, false);
    return rest;
  }

  async latestState(
    universeId: string,
    options: { recheck?: boolean; checksummed?: boolean } = {},
  ): Promise<StateAt> {
    const head = await this.headPosition(universeId);
    return this.states.stateAt(universeId, head, options.recheck, options.checksummed ?? true);
  }

  warm(connections: number): Promise<void> {
    return this.states.warm(connections);
  }

  verifySnapshot(universeId: string, position: number): Promise<void> {
    return this.states.verifySnapshot(universeId, position);
  }

  listSnapshots(universeId: string): Promise<SnapshotInfo[]> {
    return this.states.listSnapshots(universeId);
  }

  replaceSnapshot(snapshot: Snapshot): Promise<void> {
    return upsertSnapshots(this.db, [snapshot]);
  }
}
