import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { rowsOf, type Db } from "./rows.ts";
import { searchProgress, turnSearch, turnSearchDocument, turns } from "./schema.ts";

/**
 * Full-text search behind the log. An append writes no search document: the English tsvector of a
 * turn costs more than the rest of its insert, and paying it inside the append transaction bounds
 * how fast a universe's turns become durable. The indexer writes the documents of what was
 * appended in batches, a moment later, and moves the universe's mark (`search_progress`) in the
 * same statement. A search reads `turn_search` up to the mark and evaluates the document on the
 * rows past it (`searchCondition`), so a turn is found as soon as it is persisted, whatever the
 * indexer's lag; the lag only decides how many rows a search evaluates itself.
 */

/** Turns indexed per statement: one transaction, a few hundred milliseconds of the database's time. */
const BATCH = 2_000;

export interface SearchIndexOptions {
  /** How long after an append the indexer waits, gathering what is appended meanwhile. Default 100 ms. */
  delayMs?: number;
  /**
   * At start, index every universe whose mark is behind its head (what a process that stopped
   * left, or an older Loom's appends). A server's store does; a command's need not.
   */
  catchUp?: boolean;
}

/** The next turns of a universe past its mark, indexed; how many turns that covered. */
export async function indexNext(db: Db, universeId: string, limit = BATCH): Promise<number> {
  const result = await db.execute(sql`
    with mark as (
      select coalesce((select ${searchProgress.indexedThrough} from ${searchProgress} where ${searchProgress.universeId} = ${universeId}), 0) as through
    ), batch as (
      select ${turns.position} as position, ${turnSearchDocument} as document from ${turns}
      where ${turns.universeId} = ${universeId} and ${turns.position} > (select through from mark)
      order by ${turns.position} limit ${limit}
    ), written as (
      insert into ${turnSearch} (universe_id, position, document)
      select ${universeId}, position, document from batch where length(document) > 0
      on conflict do nothing
    ), moved as (
      insert into ${searchProgress} (universe_id, indexed_through)
      select ${universeId}, max(position) from batch having count(*) > 0
      on conflict (universe_id) do update set indexed_through = greatest(${searchProgress.indexedThrough}, excluded.indexed_through)
    )
    select count(*)::integer as covered from batch`);
  return Number(rowsOf<{ covered: number }>(result)[0]?.covered ?? 0);
}

/**
 * The documents of turns whose text changed (a narration written), replaced whatever the mark:
 * the indexer may be reading the row as it was, and never overwrites a document it finds.
 */
export async function reindexTurns(db: Db, universeId: string, positions: number[]): Promise<void> {
  if (positions.length === 0) return;
  await db.execute(sql`
    insert into ${turnSearch} (universe_id, position, document)
    select universe_id, position, document from (
      select ${turns.universeId} as universe_id, ${turns.position} as position, ${turnSearchDocument} as document
      from ${turns}
      where ${turns.universeId} = ${universeId} and ${turns.position} = any(${`{${positions.join(",")}}`}::integer[])
    ) as changed where length(document) > 0
    on conflict (universe_id, position) do update set document = excluded.document`);
}

/** A universe's mark: its own turns through this position have their documents. */
export async function indexedThrough(db: Db, universeId: string): Promise<number> {
  const result = await db.execute(
    sql`select ${searchProgress.indexedThrough} as through from ${searchProgress} where ${searchProgress.universeId} = ${universeId}`,
  );
  return Number(rowsOf<{ through: number }>(result)[0]?.through ?? 0);
}

/**
 * The rows of one universe's own turns in (after, through] that match `q` (websearch syntax):
 * from `turn_search` up to the mark, and by evaluating the document on the rows past it.
 */
export function searchCondition(universeId: string, after: number, through: number, q: string): SQL {
  const query = sql`websearch_to_tsquery('english'::regconfig, ${q})`;
  const mark = sql`coalesce((select ${searchProgress.indexedThrough} from ${searchProgress} where ${searchProgress.universeId} = ${universeId}), 0)`;
  const upper = Number.isFinite(through) ? sql` and position <= ${through}` : sql``;
  return sql`${turns.position} in (
    select position from ${turnSearch}
    where universe_id = ${universeId} and position > ${after}${upper} and position <= ${mark} and document @@ ${query}
    union all
    select position from ${turns} as unindexed
    where universe_id = ${universeId} and position > greatest(${after}, ${mark})${upper} and ${turnSearchDocument} @@ ${query})`;
}

/**
 * Indexes the universes it is told were appended to, one pass after `delayMs`, each from its mark
 * to the head in batches. A failed pass (the database away) keeps the universe due and retries;
 * a stopped process loses nothing, since the marks are in the database and `catchUp` resumes.
 */
export class SearchIndexer {
  private readonly due = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pass: Promise<void> | null = null;
  private closed = false;
  /** The last pass failed: the retry is on a timer, not on whoever waits. */
  private failing = false;
  /** The universes left behind are still to be found (`catchUp`). */
  private catchingUp: boolean;
  private readonly delayMs: number;

  constructor(
    private readonly db: Db,
    options: SearchIndexOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 100;
    this.catchingUp = options.catchUp ?? false;
    if (this.catchingUp) void this.start();
  }

  notify(universeIds: Iterable<string>): void {
    for (const id of universeIds) this.due.add(id);
    this.schedule();
  }

  /** Indexes everything due now, and waits until nothing is or a pass fails (then retried later). */
  async settle(): Promise<void> {
    for (;;) {
      if (this.pass) await this.pass;
      else if ((this.due.size > 0 || this.catchingUp) && !this.closed && !this.failing) await this.start();
      else return;
    }
  }

  /**
   * Stops after the batch being written: what is left stays behind the marks, found by searches
   * all the same, and indexed by the next start's `catchUp` (or `settle` first, to finish it).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pass;
  }

  private schedule(delay = this.delayMs): void {
    if (this.closed || this.timer || this.pass || (this.due.size === 0 && !this.catchingUp)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.start();
    }, delay);
    this.timer.unref?.();
  }

  private start(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pass ??= this.run().finally(() => {
      this.pass = null;
      this.schedule();
    });
    return this.pass;
  }

  private async run(): Promise<void> {
    this.failing = false;
    try {
      if (this.catchingUp) for (const id of await this.behind()) this.due.add(id);
      this.catchingUp = false;
    } catch {
      return this.retryLater();
    }
    for (const id of [...this.due]) {
      if (this.closed) return;
      this.due.delete(id);
      try {
        while ((await indexNext(this.db, id)) === BATCH && !this.closed);
      } catch {
        this.due.add(id);
        return this.retryLater();
      }
    }
  }

  /** After a failure, the next pass waits longer than a normal one. */
  private retryLater(): void {
    this.failing = true;
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.start();
    }, 1_000);
    this.timer.unref?.();
  }

  /** The universes whose mark is behind their head. */
  private async behind(): Promise<string[]> {
    const result = await this.db.execute(sql`
      select u.id from universes u left join ${searchProgress} p on p.universe_id = u.id
      where u.head_position > coalesce(p.indexed_through, 0)`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }
}
