import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { rowsOf, type Db } from "./rows.ts";
import {
  SEARCH_BLOCK,
  searchProgress,
  turnSearch,
  turnSearchDocument,
  turnSearchText,
  turns,
  universes,
} from "./schema.ts";

/**
 * Full-text search behind the log. An append writes no search document: the English tsvector of a
 * turn costs more than the rest of its insert, and paying it inside the append transaction bounds
 * how fast a universe's turns become durable. The indexer writes the documents of what was
 * appended in batches, a moment later, a block of `SEARCH_BLOCK` turns at a time (schema.ts,
 * `turn_search`), and moves the universe's mark (`search_progress`) in the same statement. A
 * search takes the turns of the candidate blocks up to the mark and every turn past it, and
 * matches each on its own text (`searchCondition`), so a turn is found as soon as it is persisted,
 * whatever the indexer's lag; the lag only decides how many rows a search matches itself.
 */

/** Turns indexed per statement (whole blocks): one transaction, a fraction of a second of the database's time. */
const BATCH = 64 * SEARCH_BLOCK;

export interface SearchIndexOptions {
  /** How long after an append the indexer waits, gathering what is appended meanwhile. Default 100 ms. */
  delayMs?: number;
  /**
   * At start, index every universe whose mark is behind its head (what a process that stopped
   * left, or an older Loom's appends). A server's store does; a command's need not.
   */
  catchUp?: boolean;
}

/** A block's document: the lexemes of its turns' text, without positions. */
const blockDocument = (text: SQL) => sql`strip(to_tsvector('english'::regconfig, ${text}))`;

/**
 * The next whole blocks of a universe past its mark, up to its head, indexed: how many positions
 * that covered (0: nothing left but the head's unfinished block) and the mark after it. A block's
 * document is merged into one a narration wrote first (reindexTurns), never replaced.
 */
export async function indexNext(
  db: Db,
  universeId: string,
  limit = BATCH,
): Promise<{ covered: number; through: number }> {
  const result = await db.execute(sql`
    with mark as (
      select coalesce((select ${searchProgress.indexedThrough} from ${searchProgress} where ${searchProgress.universeId} = ${universeId}), 0) as through
    ), span as (
      select through, least(through + ${limit}, (select (head_position / ${SEARCH_BLOCK}) * ${SEARCH_BLOCK} from ${universes} where id = ${universeId})) as upto
      from mark
    ), blocks as (
      select (${turns.position} - 1) / ${SEARCH_BLOCK} as block, string_agg(${turnSearchText}, ' ') as text
      from ${turns}
      where ${turns.universeId} = ${universeId} and ${turns.position} > (select through from span) and ${turns.position} <= (select upto from span)
      group by 1
    ), written as (
      insert into ${turnSearch} (universe_id, block, document)
      select ${universeId}, block, document from (select block, ${blockDocument(sql`text`)} as document from blocks) as b
      where length(document) > 0
      on conflict (universe_id, block) do update set document = ${turnSearch.document} || excluded.document
    ), moved as (
      insert into ${searchProgress} (universe_id, indexed_through)
      select ${universeId}, upto from span where upto > through
      on conflict (universe_id) do update set indexed_through = greatest(${searchProgress.indexedThrough}, excluded.indexed_through)
    )
    select greatest(upto - through, 0)::integer as covered, greatest(upto, through)::integer as through from span`);
  const row = rowsOf<{ covered: number; through: number }>(result)[0];
  return { covered: Number(row?.covered ?? 0), through: Number(row?.through ?? 0) };
}

/** The last position of a head's last whole block: what the indexer can cover at that head. */
const wholeBlocks = (head: number) => Math.floor(head / SEARCH_BLOCK) * SEARCH_BLOCK;

/**
 * Merges the narrations just written on these turns into their blocks' documents, whatever the
 * mark: the rest of a turn's text is there already, or comes with the indexer (which may be
 * reading the rows as they were, and merges in turn).
 */
export async function reindexTurns(db: Db, universeId: string, positions: number[]): Promise<void> {
  if (positions.length === 0) return;
  await db.execute(sql`
    insert into ${turnSearch} (universe_id, block, document)
    select ${universeId}, block, document from (
      select (${turns.position} - 1) / ${SEARCH_BLOCK} as block, ${blockDocument(sql`string_agg(coalesce(${turns.narration}->>'text', ''), ' ')`)} as document
      from ${turns}
      where ${turns.universeId} = ${universeId} and ${turns.position} = any(${`{${positions.join(",")}}`}::integer[])
      group by 1
    ) as changed where length(document) > 0
    on conflict (universe_id, block) do update set document = ${turnSearch.document} || excluded.document`);
}

/** A universe's mark: its own turns through this position are in their blocks' documents. */
export async function indexedThrough(db: Db, universeId: string): Promise<number> {
  const result = await db.execute(
    sql`select ${searchProgress.indexedThrough} as through from ${searchProgress} where ${searchProgress.universeId} = ${universeId}`,
  );
  return Number(rowsOf<{ through: number }>(result)[0]?.through ?? 0);
}

/**
 * The rows of one universe's own turns in (after, through] that match `q` (websearch syntax): the
 * turns of the blocks whose document has the query's words, up to the mark, and every turn past
 * it, each matched on its own text. A block's lexemes are its turns' together, so a block that
 * has a word a query excludes (`-word`) may still hold a turn that matches: such a query takes
 * every block as a candidate.
 */
export function searchCondition(universeId: string, after: number, through: number, q: string): SQL {
  const query = sql`websearch_to_tsquery('english'::regconfig, ${q})`;
  const mark = sql`coalesce((select ${searchProgress.indexedThrough} from ${searchProgress} where ${searchProgress.universeId} = ${universeId}), 0)`;
  const upper = Number.isFinite(through) ? sql` and block * ${SEARCH_BLOCK} < ${through}` : sql``;
  const candidates = sql`from ${turnSearch}
    where universe_id = ${universeId} and block >= ${Math.floor(after / SEARCH_BLOCK)}${upper}
      and block < ${mark} / ${SEARCH_BLOCK}
      and (strpos(${query}::text, '!') > 0 or document @@ ${query})`;
  const tail = sql`from ${turns} as unindexed where universe_id = ${universeId} and position > greatest(${after}, ${mark})`;
  // The first and last position that can match bound the range read, so a word few turns have
  // reads those turns' stretch of the key, and a word none has reads nothing (least and greatest
  // pass over an empty side's null). Within it, a CASE, not a condition beside the range: the
  // candidates stay one hashed set looked up row by row, and only a candidate's text is parsed; as
  // a join (what Postgres makes of a bare `in`) the text match would be pushed onto every row.
  return sql`${turns.position} >= least((select min(block) * ${SEARCH_BLOCK} + 1 ${candidates}), (select min(position) ${tail}))
    and ${turns.position} <= greatest((select max(block) * ${SEARCH_BLOCK} + ${SEARCH_BLOCK} ${candidates}), (select max(position) ${tail}))
    and case when ${turns.position} in (
      select generate_series(block * ${SEARCH_BLOCK} + 1, block * ${SEARCH_BLOCK} + ${SEARCH_BLOCK}) ${candidates}
      union all
      select position ${tail})
    then ${turnSearchDocument} @@ ${query} else false end`;
}

/**
 * Indexes the universes it is told were appended to, one pass after `delayMs`, each from its mark
 * to the head in batches. A failed pass (the database away) keeps the universe due and retries;
 * a stopped process loses nothing, since the marks are in the database and `catchUp` resumes.
 */
export class SearchIndexer {
  private readonly due = new Set<string>();
  /**
   * Each universe's mark as this process's last pass left it. An append that leaves the head
   * inside the block the mark stops at has nothing to index, and a pass over it would still cost
   * the database a statement: at a busy table most group commits add a few turns per universe,
   * far less than a block. A mark moved since by another process only makes a pass find less.
   * Only the universes appended to lately count: past `maxMarks`, the least recently marked is
   * forgotten (its next append costs a pass, which marks it again).
   */
  private readonly marks = new Map<string, number>();
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
    private readonly maxMarks = 10_000,
  ) {
    this.delayMs = options.delayMs ?? 100;
    this.catchingUp = options.catchUp ?? false;
    if (this.catchingUp) void this.start();
  }

  /**
   * The universes appended to, each with its head after the append when it is known (an import's
   * commit is not): a universe whose head has not passed its mark's block is left until one has.
   */
  notify(appended: Iterable<string | { universeId: string; head: number }>): void {
    for (const item of appended) {
      if (typeof item === "string") {
        this.due.add(item);
        continue;
      }
      const mark = this.marks.get(item.universeId);
      if (mark === undefined || wholeBlocks(item.head) > mark) this.due.add(item.universeId);
    }
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
        for (;;) {
          const { covered, through } = await indexNext(this.db, id);
          this.mark(id, through);
          if (covered !== BATCH || this.closed) break;
        }
      } catch {
        this.due.add(id);
        return this.retryLater();
      }
    }
  }

  private mark(universeId: string, through: number): void {
    this.marks.delete(universeId);
    this.marks.set(universeId, through);
    if (this.marks.size > this.maxMarks) this.marks.delete(this.marks.keys().next().value!);
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

  /** The universes whose mark is behind their head's last whole block. */
  private async behind(): Promise<string[]> {
    const result = await this.db.execute(sql`
      select u.id from universes u left join ${searchProgress} p on p.universe_id = u.id
      where (u.head_position / ${SEARCH_BLOCK}) * ${SEARCH_BLOCK} > coalesce(p.indexed_through, 0)`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }
}
