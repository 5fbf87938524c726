import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  inArray,
  isNotNull,
  isNull,
  lte,
  notInArray,
  or,
  sql,
} from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Narration, Telling, Turn } from "@loom/shared";
import { segmentOf, slices, undoneIn } from "./ancestry.ts";
import type { Ancestry, Chain, Segment } from "./ancestry.ts";
import { rowsOf, toTurn, toUniverse, turnColumns } from "./rows.ts";
import type { Db, TurnRow } from "./rows.ts";
import {
  idKey,
  turnCharacterKey,
  turnMajor,
  turnRunKey,
  turnSearchDocument,
  turns,
  universes,
} from "./schema.ts";
import { reindexTurns, searchCondition } from "./search-index.ts";
import { textRows } from "./pglite-raw.ts";
import { NotFoundError } from "./turn-store.ts";
import type {
  AwayQuery,
  AwayTurns,
  NarrationRecord,
  TimelinePage,
  TimelineQuery,
  TurnJsonPage,
  TurnText,
  UniverseRecord,
  UntoldQuery,
  UntoldTurns,
} from "./turn-store.ts";

interface RawTurnText {
  position: number | string;
  id: string;
  run_id: string | null;
  character_id: string | null;
  player_id: string | null;
  actor: string;
  kind: string;
  undone_by: number | string | null;
  created_at: string;
  input: string;
  resolution: string | null;
  events: string;
  deltas: string | null;
  narration: string | null;
}

const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;

/** Reading a timeline: turns by position and pages of history, across a branch's ancestors. */
export class TimelineReader {
  /**
   * Prepared once: the scrubber makes this read at every position it rests on, and unprepared, a
   * statement costs postgres.js a description of its 30-odd columns to decode on every call and
   * Postgres a plan, more than the read itself.
   */
  private readonly universeAndTurnRead;

  constructor(
    private readonly db: Db,
    private readonly ancestry: Ancestry,
  ) {
    this.universeAndTurnRead = db
      .select({ universe: universes, turn: turnColumns })
      .from(universes)
      .leftJoin(
        turns,
        and(
          eq(turns.universeId, sql.placeholder("storedIn")),
          eq(turns.position, sql.placeholder("position")),
        ),
      )
      .where(eq(universes.id, sql.placeholder("universeId")))
      .prepare("universe_and_turn");
  }

  async getTurn(universeId: string, position: number): Promise<Turn | null> {
    const chain = await this.ancestry.chain(universeId);
    const segment = segmentOf(chain, position);
    if (!segment) return null;
    const [row] = await this.db
      .select(turnColumns)
      .from(turns)
      .where(and(eq(turns.universeId, segment.universeId), eq(turns.position, position)));
    if (!row) return null;
    return (await this.present(chain, universeId, [{ segment, rows: [row] }]))[0]!;
  }

  /**
   * The universe's record and its turn at `position` (null at 0 and past the head), as one
   * statement saw them: every turn at or below the record's head was stored, undo marks included,
   * when the turn was read. Null when there is no such universe.
   */
  async universeAndTurn(
    universeId: string,
    position: number,
  ): Promise<{ universe: UniverseRecord; turn: Turn | null } | null> {
    const chain = await this.ancestry.chain(universeId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (!chain) return null;
    const segment = segmentOf(chain, position);
    // no turn is stored at a negative position: the join finds none where the timeline has none
    const [row] = await this.universeAndTurnRead.execute({
      universeId,
      storedIn: segment?.universeId ?? universeId,
      position: segment ? position : -1,
    });
    if (!row) return null;
    const universe = toUniverse(row.universe);
    if (!segment || !row.turn) return { universe, turn: null };
    const [turn] = await this.present(chain, universeId, [{ segment, rows: [row.turn] }]);
    return { universe, turn: turn! };
  }

  async turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]> {
    const chain = await this.ancestry.chain(universeId);
    const parts = await Promise.all(
      slices(chain, from, to).map(async (slice) => ({
        segment: slice.segment,
        rows: await this.db
          .select(turnColumns)
          .from(turns)
          .where(positionsIn(slice.segment.universeId, slice.after, slice.through))
          .orderBy(asc(turns.position)),
      })),
    );
    return this.present(chain, universeId, parts);
  }

  async turnTexts(universeId: string, from: number, to: number, withDeltas: boolean): Promise<TurnText[]> {
    const chain = await this.ancestry.chain(universeId);
    const parts = slices(chain, from, to);
    const inherited = parts.some((part) => part.segment.universeId !== universeId)
      ? await this.ancestry.inheritedUndone(chain)
      : new Set<number>();
    const texts: TurnText[] = [];
    for (const { segment, after, through } of parts) {
      // one indexed range read per segment; the JSON columns leave the database as its text
      const rows = rowsOf<RawTurnText>(
        await this.db.execute(sql`
          select position, id, run_id, character_id, player_id, actor::text as actor, kind::text as kind,
            undone_by, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
            input::text as input, resolution::text as resolution, events::text as events,
            ${withDeltas ? sql`deltas::text` : sql`null::text`} as deltas, narration::text as narration
          from ${turns}
          where universe_id = ${segment.universeId} and position > ${after} and position <= ${through}
          order by position`),
      );
      for (const row of rows)
        texts.push({
          universeId,
          position: Number(row.position),
          id: row.id,
          runId: row.run_id,
          characterId: row.character_id,
          playerId: row.player_id,
          actor: row.actor as TurnText["actor"],
          kind: row.kind as TurnText["kind"],
          status:
            undoneIn(segment, row.undone_by === null ? null : Number(row.undone_by)) ||
            inherited.has(Number(row.position))
              ? "undone"
              : "applied",
          createdAt: row.created_at,
          input: row.input,
          resolution: row.resolution,
          events: row.events,
          deltas: row.deltas,
          narration: row.narration,
        });
    }
    return texts;
  }

  /**
   * The turns in (from, to] as one text: each turn's JSON (as turnJson writes it from a TurnText:
   * the API's shape, the JSON columns as the database keeps them) on a line of its own, in
   * position order, put together by the database. One string a page instead of a row object and
   * six strings a turn: what a game master's export writes as it comes (`type`), with no parse and
   * little garbage. `story`: only what a reader of the story needs (turnJsonPage's in TurnStore).
   */
  async turnJsonPage(
    universeId: string,
    from: number,
    to: number,
    withDeltas = true,
    type?: string,
    story = false,
  ): Promise<TurnJsonPage> {
    const opening = type === undefined ? "{" : `{"type":${JSON.stringify(type)},`;
    const chain = await this.ancestry.chain(universeId);
    const parts = slices(chain, from, to);
    const inherited = parts.some((part) => part.segment.universeId !== universeId)
      ? await this.ancestry.inheritedUndone(chain)
      : new Set<number>();
    const page: TurnJsonPage = { json: "", turns: 0, last: from };
    for (const { segment, after, through } of parts) {
      const marked = [...inherited].filter((position) => position > after && position <= through);
      // undoneIn: an undo mark counts while the undo turn is part of this timeline
      const undone = Number.isFinite(segment.through)
        ? sql`(undone_by is not null and undone_by <= ${segment.through})`
        : sql`undone_by is not null`;
      // each line built by one concat(), ending in its newline: a page is its lines as written out
      const query = sql`
          select string_agg(concat(
            ${opening}::text, ${story ? sql`''` : sql`'"universeId":', ${JSON.stringify(universeId)}::text, ','`},
            '"position":', position${story ? sql`` : sql`, ',"id":', to_json(id)`},
            ',"runId":', coalesce(to_json(run_id)::text, 'null'),
            ',"characterId":', coalesce(to_json(character_id)::text, 'null'),
            ${story ? sql`''` : sql`',"playerId":', coalesce(to_json(player_id)::text, 'null'), ',"actor":"', actor, '"'`},
            ',"kind":"', kind, '","input":', input,
            ',"resolution":', coalesce(resolution::text, 'null'), ',"events":', events,
            ',"deltas":', ${withDeltas && !story ? sql`deltas` : sql`'[]'`}, ',"status":"',
            (case when ${undone} or position = any(${sql.raw(`'{${marked.join(",")}}'::int[]`)}) then 'undone' else 'applied' end),
            '","narration":', coalesce(narration::text, 'null'),
            ',"createdAt":"', to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), E'"}\n'),
            '' order by position) as json,
            count(*) as turns, max(position) as last
          from ${turns}
          where universe_id = ${segment.universeId} and position > ${after} and position <= ${through}`;
      // on PGlite the page's text is read from the reply's bytes (pglite-raw.ts)
      const [[json, count, last] = []] = await textRows(this.db, query);
      if (!count || Number(count) === 0) continue;
      page.json += json ?? "";
      page.turns += Number(count);
      page.last = Number(last);
    }
    return page;
  }

  /**
   * One page of history. Each segment is asked in turn (newest first for `desc`) until the page
   * is full, so a branch's own page costs one indexed query and a page across the branch point two.
   */
  async timeline(universeId: string, query: TimelineQuery = {}): Promise<TimelinePage> {
    const chain = await this.ancestry.chain(universeId);
    const limit = Math.max(1, Math.min(query.limit ?? PAGE_DEFAULT, PAGE_MAX));
    const descending = query.order === "desc";
    const ordered = descending ? [...chain].reverse() : chain;
    const parts: Array<{ segment: Segment; rows: TurnRow[] }> = [];
    let found = 0;
    for (const segment of ordered) {
      if (found > limit) break;
      const [after, through] = descending
        ? [segment.after, Math.min(segment.through, (query.cursor ?? Infinity) - 1)]
        : [Math.max(segment.after, query.cursor ?? 0), segment.through];
      if (after >= through) continue;
      const range = positionsIn(segment.universeId, after, through);
      const search = hasSearch(query) ? [searchCondition(segment.universeId, after, through, query.q!)] : [];
      const rows = await this.db
        .select(turnColumns)
        .from(turns)
        .where(and(range, ...filters(query), ...search))
        .orderBy(descending ? desc(turns.position) : asc(turns.position))
        .limit(limit + 1 - found);
      parts.push({ segment, rows });
      found += rows.length;
    }
    const page = await this.present(chain, universeId, parts);
    const more = page.length > limit;
    const shown = page.slice(0, limit);
    return { turns: shown, nextCursor: more ? shown[shown.length - 1]!.position : null };
  }

  /**
   * "While you were away", newest segment first: each segment is asked for its newest qualifying
   * rows until the page is full, and counts its own up to what is left of the cap; both walk the
   * partial index of major turns from the top, so a fresh run's recap in a long universe costs
   * what it costs in a short one.
   */
  async awayTurns(universeId: string, query: AwayQuery): Promise<AwayTurns> {
    const chain = await this.ancestry.chain(universeId);
    const inherited = chain.length > 1 ? await this.ancestry.inheritedUndone(chain) : new Set<number>();
    const parts: Array<{ segment: Segment; rows: TurnRow[] }> = [];
    let found = 0;
    let total = 0;
    for (const slice of slices(chain, query.after, query.through).reverse()) {
      const where = and(
        positionsIn(slice.segment.universeId, slice.after, slice.through),
        awayFrom(query.characterId, slice.segment, inherited),
      );
      if (found < query.limit) {
        const rows = await this.db
          .select(turnColumns)
          .from(turns)
          .where(where)
          .orderBy(desc(turns.position))
          .limit(query.limit - found);
        parts.unshift({ segment: slice.segment, rows: rows.reverse() });
        found += rows.length;
      }
      if (total < query.countUpTo) {
        const capped = this.db
          .select({ position: turns.position })
          .from(turns)
          .where(where)
          .orderBy(desc(turns.position))
          .limit(query.countUpTo - total)
          .as("away");
        const [counted] = await this.db.select({ n: count() }).from(capped);
        total += Number(counted?.n ?? 0);
      }
    }
    const shown = await this.present(chain, universeId, parts);
    return { turns: shown, total: Math.max(total, shown.length) };
  }

  /**
   * See TurnStore.untoldTurns: the rows of the universe's own segment alone, each condition one
   * the partial index of untold turns answers.
   */
  async untoldTurns(universeId: string, query: UntoldQuery): Promise<UntoldTurns> {
    const chain = await this.ancestry.chain(universeId);
    const segment = chain[chain.length - 1]!;
    const where = and(
      positionsIn(segment.universeId, Math.max(query.after, segment.after), query.through ?? Infinity),
      isNull(turns.narration),
    );
    const [rows, counted] = await Promise.all([
      query.limit > 0
        ? this.db.select(turnColumns).from(turns).where(where).orderBy(asc(turns.position)).limit(query.limit)
        : [],
      query.count ? this.db.select({ n: count() }).from(turns).where(where) : null,
    ]);
    const shown = await this.present(chain, universeId, [{ segment, rows }]);
    return { turns: shown, total: counted ? Number(counted[0]?.n ?? 0) : null };
  }

  /**
   * The positions among `candidates` (acknowledged turns not stored yet) that a timeline query's
   * filters match, ascending. The same SQL conditions as `timeline` itself, evaluated on the
   * turns given as one JSON parameter: a live turn is found exactly when its stored row would be.
   */
  async matching(candidates: Turn[], query: TimelineQuery): Promise<number[]> {
    const where = filters(query);
    if (hasSearch(query))
      where.push(sql`${turnSearchDocument} @@ websearch_to_tsquery('english'::regconfig, ${query.q!})`);
    if (candidates.length === 0 || where.length === 0) return candidates.map((turn) => turn.position);
    const rows = candidates.map((turn) => ({
      position: turn.position,
      character_id: turn.characterId,
      run_id: turn.runId,
      kind: turn.kind,
      input: turn.input,
      resolution: turn.resolution,
      events: turn.events,
      narration: turn.narration,
    }));
    // aliased `turns` with the table's column names, so the conditions read these columns
    const result = await this.db.execute(sql`
      select "position" from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as turns(
        "position" integer, "character_id" text, "run_id" text, "kind" text,
        "input" jsonb, "resolution" jsonb, "events" jsonb, "narration" jsonb)
      where ${and(...where)}
      order by "position"`);
    return rowsOf<{ position: number }>(result).map((row) => Number(row.position));
  }

  /** Appends a retelling inside the turn's narration, leaving the first telling as it was. */
  async appendRetelling(universeId: string, position: number, telling: Telling): Promise<boolean> {
    const segment = segmentOf(await this.ancestry.chain(universeId), position);
    if (!segment) throw new NotFoundError("turn", `${universeId}@${position}`);
    const at = and(eq(turns.universeId, segment.universeId), eq(turns.position, position));
    const appended = JSON.stringify([telling]);
    const written = await this.db
      .update(turns)
      .set({
        narration: sql`jsonb_set(${turns.narration}::jsonb, '{retellings}', coalesce(${turns.narration}::jsonb->'retellings', '[]'::jsonb) || ${appended}::jsonb)::json`,
      })
      .where(and(at, isNotNull(turns.narration)))
      .returning({ position: turns.position });
    if (written.length > 0) return true;
    const [exists] = await this.db.select({ position: turns.position }).from(turns).where(at);
    if (!exists) throw new NotFoundError("turn", `${universeId}@${position}`);
    return false;
  }

  /** Write-once: only a turn without narration takes one. The row is the one that stores the turn. */
  async setNarration(universeId: string, position: number, narration: Narration): Promise<boolean> {
    return (await this.setNarrations([{ universeId, position, narration }]))[0]!;
  }

  /** See TurnStore.setNarrations: one UPDATE per stored segment, in one transaction. */
  async setNarrations(records: NarrationRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    // the row of each record (a branch's inherited turn is stored in its ancestor's segment),
    // the first record for a turn being the one that can take it
    const rows = new Map<string, { segmentId: string; position: number; narration: Narration }>();
    const keys: string[] = [];
    for (const { universeId, position, narration } of records) {
      const segment = segmentOf(await this.ancestry.chain(universeId), position);
      if (!segment) throw new NotFoundError("turn", `${universeId}@${position}`);
      const key = `${segment.universeId}@${position}`;
      keys.push(rows.has(key) ? "" : key);
      if (!rows.has(key)) rows.set(key, { segmentId: segment.universeId, position, narration });
    }
    const bySegment = new Map<string, Array<{ position: number; narration: Narration }>>();
    for (const { segmentId, position, narration } of rows.values())
      bySegment.set(segmentId, [...(bySegment.get(segmentId) ?? []), { position, narration }]);
    const written = new Set<string>();
    await this.db.transaction(async (tx) => {
      for (const [segmentId, list] of bySegment) {
        // the group as one JSON parameter: a statement of the same text whatever its size, and
        // no placeholder per record to build and bind
        const values = JSON.stringify(list);
        const positions = list.map(({ position }) => position);
        const updated = await tx.execute(sql`
          update ${turns} set narration = v.narration
          from json_to_recordset(${values}::json) as v(position integer, narration json)
          where ${turns.universeId} = ${segmentId} and ${turns.position} = v.position and ${turns.narration} is null
          returning ${turns.position}`);
        const took = rowsOf<{ position: number }>(updated);
        for (const row of took) written.add(`${segmentId}@${Number(row.position)}`);
        await reindexTurns(
          tx,
          segmentId,
          took.map((row) => Number(row.position)),
        );
        if (took.length === list.length) continue;
        const existing = await tx
          .select({ position: turns.position })
          .from(turns)
          .where(and(eq(turns.universeId, segmentId), inArray(turns.position, positions)));
        const found = new Set(existing.map((row) => row.position));
        const missing = positions.find((position) => !found.has(position));
        if (missing !== undefined) throw new NotFoundError("turn", `${segmentId}@${missing}`);
      }
    });
    return keys.map((key) => key !== "" && written.has(key));
  }

  private async present(
    chain: Chain,
    universeId: string,
    parts: Array<{ segment: Segment; rows: TurnRow[] }>,
  ): Promise<Turn[]> {
    const shared = parts.some((part) => part.segment.universeId !== universeId && part.rows.length > 0);
    const inherited = shared ? await this.ancestry.inheritedUndone(chain) : new Set<number>();
    return parts.flatMap(({ segment, rows }) =>
      rows.map((row) =>
        toTurn(row, universeId, undoneIn(segment, row.undoneBy) || inherited.has(row.position)),
      ),
    );
  }
}

function hasSearch(query: TimelineQuery): boolean {
  return query.q !== undefined && query.q.trim() !== "";
}

/** The query's filters but the text match itself, which depends on where the rows are read (searchCondition). */
function filters(query: TimelineQuery): SQL[] {
  const where: SQL[] = [];
  if (query.characterId !== undefined)
    where.push(
      sql`${turnCharacterKey} = ${idKey(query.characterId)}`,
      eq(turns.characterId, query.characterId),
    );
  if (query.runId !== undefined)
    where.push(sql`${turnRunKey} = ${idKey(query.runId)}`, eq(turns.runId, query.runId));
  if (query.kind !== undefined) where.push(eq(turns.kind, query.kind));
  if (hasSearch(query)) {
    // isHiddenTurn (shared/src/visibility.ts) in SQL: such a turn is no match for a non-GM
    if (query.searchPublic)
      where.push(
        sql`not (coalesce(${turns.resolution}::jsonb @> '{"hidden":true}'::jsonb, false) or ${turns.events}::jsonb @> '[{"hidden":true}]'::jsonb)`,
      );
  }
  return where;
}

/**
 * The rows "while you were away" shows of a segment: a major event and nothing hidden
 * (`hasVisibleMajorEvent`), not the character's own (played in a run), not bookkeeping, applied in this timeline.
 */
function awayFrom(characterId: string, segment: Segment, inheritedUndone: ReadonlySet<number>): SQL {
  const applied = Number.isFinite(segment.through)
    ? or(isNull(turns.undoneBy), gt(turns.undoneBy, segment.through))!
    : isNull(turns.undoneBy);
  const conditions = [
    turnMajor,
    sql`not (${turns.events}::jsonb @> '[{"hidden":true}]'::jsonb)`,
    sql`not coalesce(${turns.resolution}::jsonb @> '{"hidden":true}'::jsonb, false)`,
    notInArray(turns.kind, ["session_start", "session_end", "undo", "retcon"]),
    // a game master's turn on the character (it has no run) is news to it: isAwayTurn
    or(sql`${turns.characterId} is distinct from ${characterId}`, isNull(turns.runId))!,
    applied,
  ];
  if (inheritedUndone.size > 0) conditions.push(notInArray(turns.position, [...inheritedUndone]));
  return and(...conditions)!;
}

/** Rows of one universe at positions in (after, through]; an open-ended segment has no upper bound. */
export function positionsIn(universeId: string, after: number, through: number): SQL {
  const bounds = [eq(turns.universeId, universeId), gt(turns.position, after)];
  if (Number.isFinite(through)) bounds.push(lte(turns.position, through));
  return and(...bounds)!;
}
