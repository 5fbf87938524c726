import { and, asc, desc, eq, gte, lte, sql } from "drizzle-orm";
import {
  applyDeltasInPlace,
  checksum,
  checksumOfJson,
  checksumOfTexts,
  parseCut,
  STATE_VERSION,
  upcastState,
  upgradeDeltas,
} from "@loom/shared";
import type { Delta, Snapshot, UniverseState } from "@loom/shared";
import { slices } from "./ancestry.ts";
import type { Ancestry, Chain } from "./ancestry.ts";
import { executePrepared, rowsOf, toSnapshot } from "./rows.ts";
import type { Db, SnapshotRow } from "./rows.ts";
import { textRows } from "./pglite-raw.ts";
import { snapshots, turns } from "./schema.ts";
import { log } from "../log.ts";
import { positionsIn } from "./timeline.ts";
import { ChecksumMismatchError, NotFoundError } from "./turn-store.ts";
import { KeptStates, type KnownPart } from "./kept-states.ts";
import { PartTexts } from "./part-texts.ts";
import { documentOf, documentTexts } from "./snapshot-parts.ts";
import type { SnapshotInfo, StateAt } from "./turn-store.ts";

/** A snapshot read with its document, as text and parsed. */
type ReadSnapshot = SnapshotRow & { text: string };

/** A snapshot's document as text, however it is stored (migration 0014). */
const storedDocument = (universeId: unknown) =>
  sql`loom_snapshot_document(${universeId}, ${snapshots.state}, ${snapshots.skeleton}, ${snapshots.parts})`;

/**
 * States at positions: the nearest snapshot at or before the position plus the deltas after it,
 * read column by column (only `position` and `deltas` of the turns) along the branch's chain.
 */
export class StateReader {
  /** Snapshots whose document matched their checksum when this process first read them. */
  private readonly intactSnapshots = new Set<string>();
  /** States read before, frozen and shared, for the jumps near them (kept-states.ts). */
  private readonly kept: KeptStates;
  /** Parts of snapshots read before (part-texts.ts). */
  private readonly partTexts: PartTexts;

  constructor(
    private readonly db: Db,
    private readonly ancestry: Ancestry,
  ) {
    this.kept = new KeptStates(db);
    this.partTexts = new PartTexts(db);
  }

  /**
   * Makes the statements a universe's open reads with once on each of `connections` connections
   * at once (each connection of a pool prepares and plans a statement for itself), for an id no
   * universe has. A fresh process would otherwise plan them, with the database's caches of these
   * tables cold and the driver's code not yet compiled, on the way to its first room.
   */
  async warm(connections: number): Promise<void> {
    const nobody = "00000000-0000-0000-0000-000000000000";
    await Promise.all(
      Array.from({ length: connections }, async () => {
        await this.ownSnapshotAndDeltas(nobody, 0, 0);
        await this.partTexts.cut(nobody, "", [nobody]);
      }),
    );
  }

  /**
   * Whether a stored snapshot's document is the one its checksum was taken of. A jump and the
   * opening of a universe read states from snapshots: one that does not match is never served;
   * the state is rebuilt from the snapshot before it instead, and the damage is logged. Checked
   * the first time this process reads each snapshot.
   */
  private intact(
    universeId: string,
    snapshot: Pick<SnapshotRow, "position" | "state" | "checksum">,
    texts: readonly string[],
    recheck = false,
  ): boolean {
    const key = `${universeId}@${snapshot.position}:${snapshot.checksum}`;
    if (!recheck && this.intactSnapshots.has(key)) return true;
    // Written as canonical JSON (upsertSnapshots) and kept as text, a document's hash is its
    // checksum; a row written before snapshots were kept that way is serialized again.
    const actual =
      checksumOfTexts(texts) === snapshot.checksum ? snapshot.checksum : checksum(snapshot.state);
    if (actual !== snapshot.checksum) {
      log.error(
        `snapshot ${universeId}@${snapshot.position} does not match its checksum (${snapshot.checksum}, document ${actual}); rebuilding from an earlier one`,
        { universeId },
      );
      return false;
    }
    if (this.intactSnapshots.size >= 100_000) this.intactSnapshots.clear();
    this.intactSnapshots.add(key);
    return true;
  }

  /** See TurnStore.snapshotTexts. */
  async snapshotTexts(storedIn: string, positions: readonly number[]): Promise<Map<number, string>> {
    if (positions.length === 0) return new Map();
    // megabytes of documents: on PGlite read from the reply's bytes (pglite-raw.ts)
    const rows = await textRows(
      this.db,
      sql`select position, state::text, skeleton, parts::text from ${snapshots}
        where universe_id = ${storedIn} and position in (${sql.join(
          positions.map((position) => sql`${position}`),
          sql`, `,
        )})
        order by position`,
    );
    // Parts joined here: an export reads every snapshot in turn, each sharing most of its parts
    // with the one before, so each part is read once rather than with every snapshot holding it.
    const texts = new Map<number, string>();
    for (const [position, whole, skeleton, parts] of rows) {
      const cut =
        whole == null && skeleton != null
          ? await this.partTexts.cut(storedIn, skeleton, uuids(parts ?? "{}"))
          : null;
      const document = whole ?? (cut ? documentOf(cut) : null);
      // a snapshot with a part missing has no document to give (it is damaged)
      if (document !== null) texts.set(Number(position), document);
    }
    return texts;
  }

  /**
   * The snapshots of a timeline in position order, without their documents: the ancestors' up to
   * the branch points, then the universe's own. `storedIn` is the universe whose row holds it.
   */
  async listSnapshots(universeId: string): Promise<SnapshotInfo[]> {
    const chain = await this.ancestry.chain(universeId);
    const found: SnapshotInfo[] = [];
    for (const segment of chain) {
      const rows = await this.db
        .select({
          position: snapshots.position,
          checksum: snapshots.checksum,
          reason: snapshots.reason,
          createdAt: snapshots.createdAt,
        })
        .from(snapshots)
        .where(
          and(
            eq(snapshots.universeId, segment.universeId),
            gte(snapshots.position, segment.after),
            segment.through === Infinity ? undefined : lte(snapshots.position, segment.through),
          ),
        )
        .orderBy(asc(snapshots.position));
      for (const row of rows) {
        // a branch point's snapshot may exist in both the parent and the branch: the branch's stands
        if (found.length > 0 && found[found.length - 1]!.position === row.position) found.pop();
        found.push({
          universeId,
          storedIn: segment.universeId,
          position: row.position,
          checksum: row.checksum,
          reason: row.reason,
          createdAt: row.createdAt.toISOString(),
        });
      }
    }
    return found;
  }

  async getSnapshotAtOrBefore(universeId: string, position: number): Promise<Snapshot | null> {
    const row = await this.nearestSnapshot(await this.ancestry.chain(universeId), position);
    return row ? toSnapshot(row, universeId) : null;
  }

  /**
   * `recheck`: snapshots are hashed again, whatever this process found before (opening a universe).
   * `checksummed: false` leaves the replayed state's checksum out (an empty string): on a large
   * world it costs more than the rest of the read, and a scrubber showing the state does not need it.
   */
  async stateAt(universeId: string, position: number, recheck = false, checksummed = true): Promise<StateAt> {
    const chain = await this.ancestry.chain(universeId);
    const own = chain[chain.length - 1]!;
    let damaged: Pick<SnapshotRow, "position" | "state" | "checksum"> | null = null;
    const skipped: number[] = [];
    // the state rebuilt past damaged snapshots says which, so that opening a universe can refuse it
    const noting = (at: StateAt): StateAt => (skipped.length ? { ...at, damagedSnapshots: skipped } : at);
    if (position > own.after && !recheck) {
      const at = await this.kept.near(universeId, own.after, position, checksummed);
      if (at) return at;
    }
    if (position > own.after) {
      const found = await this.ownSnapshotAndDeltas(universeId, own.after, position);
      if (found && this.intact(universeId, found.snapshot, found.texts, recheck))
        return recheck || !isCurrent(found.snapshot.state) || !this.kept.keeps(found.length)
          ? this.fold(universeId, found.snapshot, found.deltas, position, checksummed)
          : this.kept.fromSnapshot(
              universeId,
              found.snapshot,
              found.deltas,
              position,
              checksummed,
              found.length,
              found.parts,
            );
      if (found) {
        damaged = found.snapshot;
        skipped.push(found.snapshot.position);
      }
    }
    for (;;) {
      const below = damaged ? damaged.position - 1 : position;
      const snapshot = below >= 0 ? await this.nearestSnapshot(chain, below) : null;
      if (snapshot && this.intact(universeId, snapshot, [snapshot.text], recheck))
        return noting(await this.replay(chain, universeId, snapshot, position, checksummed));
      if (snapshot) {
        damaged = snapshot;
        skipped.push(snapshot.position);
        continue;
      }
      if (damaged)
        throw new ChecksumMismatchError(
          universeId,
          damaged.position,
          damaged.checksum,
          checksum(damaged.state),
        );
      throw new NotFoundError("snapshot", `${universeId}@≤${position}`);
    }
  }

  /**
   * A snapshot's checksum is over its document as stored, in the state version it was taken in;
   * the log is never rewritten, so an older snapshot keeps its older checksum. Verification asks
   * two things: that the stored document is still the one its checksum was taken of, and that the
   * state rebuilt to its position (the previous snapshot and the turns since, in the current
   * version, the way every jump rebuilds it) equals that document brought to the current version
   * — for a current snapshot, that is its checksum itself. docs/state-versions.md argues the rule.
   */
  async verifySnapshot(universeId: string, position: number): Promise<void> {
    const chain = await this.ancestry.chain(universeId);
    const snapshot = await this.nearestSnapshot(chain, position);
    if (!snapshot || snapshot.position !== position)
      throw new NotFoundError("snapshot", `${universeId}@${position}`);
    // stored by part, with a part missing: no document to compare
    if (snapshot.text === "")
      throw new ChecksumMismatchError(universeId, position, snapshot.checksum, checksumOfJson(""));
    const expected = isCurrent(snapshot.state) ? snapshot.checksum : checksum(upcastState(snapshot.state));
    const previous = position > 0 ? await this.nearestSnapshot(chain, position - 1) : null;
    const replayed = previous
      ? (await this.replay(chain, universeId, previous, position)).checksum
      : expected;
    if (replayed !== expected) throw new ChecksumMismatchError(universeId, position, expected, replayed);
    // A document edited under an intact checksum: the replay agrees with the checksum, not with the document.
    const stored = checksum(snapshot.state);
    if (stored !== snapshot.checksum)
      throw new ChecksumMismatchError(universeId, position, snapshot.checksum, stored);
  }

  /** The newest snapshot at or before `position` on the timeline: the universe's own first, then its ancestors'. */
  private async nearestSnapshot(chain: Chain, position: number): Promise<ReadSnapshot | null> {
    for (let i = chain.length - 1; i >= 0; i--) {
      const segment = chain[i]!;
      if (segment.after > position) continue;
      const [row] = await this.db
        .select({
          universeId: snapshots.universeId,
          position: snapshots.position,
          reason: snapshots.reason,
          createdAt: snapshots.createdAt,
          checksum: snapshots.checksum,
          text: sql<string | null>`${storedDocument(snapshots.universeId)}`,
        })
        .from(snapshots)
        .where(
          and(
            eq(snapshots.universeId, segment.universeId),
            gte(snapshots.position, segment.after),
            lte(snapshots.position, Math.min(position, segment.through)),
          ),
        )
        .orderBy(desc(snapshots.position))
        .limit(1);
      if (row) return { ...row, text: row.text ?? "", state: parsedDocument(row.text) };
    }
    return null;
  }

  private async replay(
    chain: Chain,
    universeId: string,
    snapshot: SnapshotRow,
    position: number,
    checksummed = true,
  ): Promise<StateAt> {
    const parts = await Promise.all(
      slices(chain, snapshot.position, position).map((slice) =>
        this.db
          .select({ deltas: turns.deltas })
          .from(turns)
          .where(positionsIn(slice.segment.universeId, slice.after, slice.through))
          .orderBy(asc(turns.position)),
      ),
    );
    return this.fold(
      universeId,
      snapshot,
      parts.flat().map((row) => row.deltas),
      position,
      checksummed,
    );
  }

  /**
   * The common jump, in one round trip: the universe's own newest snapshot at or before the
   * position and, aggregated in the same statement, the deltas of the turns after it. json_agg,
   * not jsonb_agg: the deltas are only passed through, and building a jsonb of them would cost
   * Postgres more than the rest of the read. A snapshot stored by part takes a second one for
   * the parts this process has not read before (part-texts.ts), joined here rather than by the
   * database (`loom_snapshot_document`), whose aggregate of a large world's parts costs several
   * times reading its document whole.
   */
  private async ownSnapshotAndDeltas(
    universeId: string,
    after: number,
    position: number,
  ): Promise<{
    snapshot: Pick<SnapshotRow, "position" | "state" | "checksum">;
    /** The document's texts in order (one when it is stored whole; none when a part is missing) and its length. */
    texts: string[];
    length: number;
    deltas: Delta[][];
    /** The buckets of a snapshot stored by part, each with its text. */
    parts?: KnownPart[];
  } | null> {
    const result = await executePrepared(
      this.db,
      "own_snapshot_and_deltas",
      sql`
      select s.position, s.state::text as text, s.skeleton, s.parts, s.checksum,
        coalesce((select json_agg(t.deltas order by t.position) from ${turns} t
                  where t.universe_id = ${universeId} and t.position > s.position and t.position <= ${position}), '[]'::json) as deltas
      from (select position, state, skeleton, parts, checksum from ${snapshots}
            where universe_id = ${universeId} and position >= ${after} and position <= ${position}
            order by position desc limit 1) s`,
    );
    const [row] = rowsOf<{
      position: number;
      text: string | null;
      skeleton: string | null;
      parts: string[] | null;
      checksum: string;
      deltas: Delta[][];
    }>(result);
    if (!row) return null;
    if (row.text !== null || row.skeleton === null)
      return {
        snapshot: { position: row.position, state: parsedDocument(row.text), checksum: row.checksum },
        texts: row.text === null ? [] : [row.text],
        length: row.text?.length ?? 0,
        deltas: row.deltas,
      };
    const cut = await this.partTexts.cut(universeId, row.skeleton, row.parts ?? []);
    const snapshot = { position: row.position, checksum: row.checksum };
    if (!cut) return { snapshot: { ...snapshot, state: {} }, texts: [], length: 0, deltas: row.deltas };
    const texts = documentTexts(cut);
    // each part on its own, shared with the states read before that hold it (frozen), so that
    // neither its parse nor its text is made again; a state of an older version is upcast, which
    // may change it in place, and is parsed whole
    const parsed = parseCut(cut.pieces, cut.documents, (text, i) =>
      this.partTexts.value(universeId, row.parts![i]!, text),
    );
    const state = parsed && isCurrent(parsed.value as Record<string, unknown>) ? parsed.value : null;
    return {
      snapshot: {
        ...snapshot,
        state: (state as Record<string, unknown> | null) ?? parsedDocument(texts.join("")),
      },
      texts,
      length: texts.reduce((sum, text) => sum + text.length, 0),
      deltas: row.deltas,
      parts: state ? parsed!.buckets.map((bucket, i) => ({ bucket, text: cut.documents[i]! })) : undefined,
    };
  }

  private fold(
    universeId: string,
    snapshot: Pick<SnapshotRow, "position" | "state" | "checksum">,
    deltas: Delta[][],
    position: number,
    checksummed = true,
  ): StateAt {
    if (deltas.length !== position - snapshot.position)
      throw new NotFoundError("turn", `${universeId}@${position}`);
    const current = isCurrent(snapshot.state);
    // Parsed (and upcast) for this call alone, so the deltas may change it in place, but for the
    // parts it shares with other states (frozen), which they copy.
    let state = current ? (snapshot.state as UniverseState) : upcastState(snapshot.state);
    state = applyDeltasInPlace(state, upgradeDeltas(deltas.flat()));
    return {
      position,
      state,
      // An older snapshot's checksum is of its older document, not of the state returned.
      checksum: deltas.length === 0 && current ? snapshot.checksum : checksummed ? checksum(state) : "",
      fromSnapshot: snapshot.position,
      replayed: deltas.length,
    };
  }
}

/**
 * A snapshot's document parsed; a snapshot whose parts are not all there has none, and an empty
 * record in its place, which matches no checksum, makes the readers take it for damaged.
 */
function parsedDocument(text: string | null): Record<string, unknown> {
  return text === null ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** A `uuid[]` as Postgres writes it, `{…,…}` (a uuid is never quoted). */
function uuids(text: string): string[] {
  return text === "{}" ? [] : text.slice(1, -1).split(",");
}

/** Snapshots of the current version are used as stored; older ones go through the upcasters. */
function isCurrent(document: Record<string, unknown>): boolean {
  return document.version === STATE_VERSION;
}
