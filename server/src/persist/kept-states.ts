import { sql } from "drizzle-orm";
import { applyDeltas, CanonicalTexts, freezeShared, upgradeDeltas } from "@loom/shared";
import type { Delta, StateAt, UniverseState } from "@loom/shared";
import { executePrepared, rowsOf, type Db } from "./rows.ts";
import { snapshots, turns } from "./schema.ts";
import { NotFoundError } from "./turn-store.ts";

/** A snapshot a state was rebuilt from. */
interface Origin {
  position: number;
  checksum: string;
}

interface Kept {
  universeId: string;
  position: number;
  /** The snapshot it was rebuilt from: the universe's newest at or before its position. */
  origin: Origin;
  /** Null until asked for (a state read without its checksum). */
  checksum: string | null;
  state: UniverseState;
  /** What the entry is reckoned to hold on the heap that no other entry holds. */
  bytes: number;
}

/** A bucket of a snapshot read by part, with the part's text, its canonical JSON. */
export interface KnownPart {
  bucket: object;
  text: string;
}

/** How far before a position a kept state is looked for (a snapshot interval is shorter). */
const REACH_TURNS = 1_000;
/** A state reached from a kept one shares all but the containers its turns went through. */
const DERIVED_BYTES = 256 * 1024;
/** A parsed snapshot's heap, against its document's length. */
const PARSED_PER_CHAR = 4;

/**
 * States this process has read, per universe, frozen and sharing structure, for the jumps near
 * them: a jump after a kept state applies the turns between to it (copying only the containers
 * they change) instead of reading and parsing the snapshot's document, and its checksum reuses the
 * text of every container it shares (`CanonicalTexts`). Each state comes from a snapshot whose
 * document matched its checksum (the caller checks), or whose checksum the state reached by the
 * turns from an earlier one matched, and the turns after it; it is used only while that snapshot
 * is still the newest at or before the position asked, with that checksum, so a jump answers as
 * reading the snapshot would, `fromSnapshot` and `replayed` included.
 * Only a universe's own timeline is kept (after its branch point). Bounded by a reckoning of
 * bytes, least recently used dropped first (LOOM_KEPT_STATES_MB, 128 by default: beside the outage bound of waiting turns, a heap the size of a small server's).
 */
export class KeptStates {
  private readonly texts = new CanonicalTexts();
  private readonly kept = new Map<string, Kept>();
  private readonly byUniverse = new Map<string, Map<number, Kept>>();
  private bytes = 0;

  constructor(
    private readonly db: Db,
    private readonly budget = Number(process.env.LOOM_KEPT_STATES_MB || 128) * 2 ** 20,
    private readonly fromChars = Number(process.env.LOOM_KEPT_STATES_FROM_KB || 256) * 1024,
  ) {}

  /**
   * Whether a snapshot document this long is worth keeping the state of (LOOM_KEPT_STATES_FROM_KB,
   * 256 by default). A shorter one is read and parsed again at each jump: that costs less than
   * keeping it, since every state kept outlives the young generation, whose collections then copy
   * each one; on a small world those copies, not the reads, made a jump's p99.
   */
  keeps(documentLength: number): boolean {
    return documentLength >= this.fromChars;
  }

  /**
   * The state at `position` from the newest kept one at most REACH_TURNS before it, with the
   * universe's newest snapshot at or before the position and the turns since the kept one read in
   * one round trip. A kept state from that snapshot is used as it is; one from an earlier
   * snapshot first reaches that snapshot's state (`reach`). Null when no state is kept near, or
   * the snapshot disagrees: the caller reads the snapshot's document.
   */
  async near(
    universeId: string,
    after: number,
    position: number,
    checksummed: boolean,
  ): Promise<StateAt | null> {
    const nearest = this.before(universeId, position, Math.max(after, position - REACH_TURNS));
    if (!nearest) return null;
    const [row] = rowsOf<{ position: number; checksum: string; deltas: Delta[][] }>(
      await executePrepared(
        this.db,
        "own_snapshot_checksum_and_deltas",
        sql`
        select s.position, s.checksum,
          coalesce((select json_agg(t.deltas order by t.position) from ${turns} t
                    where t.universe_id = ${universeId} and t.position > ${nearest.position}
                      and t.position <= ${position}), '[]'::json) as deltas
        from (select position, checksum from ${snapshots}
              where universe_id = ${universeId} and position >= ${after} and position <= ${position}
              order by position desc limit 1) s`,
      ),
    );
    if (!row) return null;
    const origin = { position: Number(row.position), checksum: row.checksum };
    if (row.deltas.length !== position - nearest.position)
      throw new NotFoundError("turn", `${universeId}@${position}`);
    const from =
      nearest.position >= origin.position ? nearest : this.reach(universeId, nearest, origin, row.deltas);
    if (!from || from.origin.position !== origin.position || from.origin.checksum !== origin.checksum)
      return null;
    this.touch(from);
    const since = row.deltas.slice(from.position - nearest.position);
    if (since.length === 0) return this.answer(from, checksummed);
    const state = applyDeltas(from.state, upgradeDeltas(since.flat()));
    return this.answer(this.put(universeId, position, origin, state), checksummed);
  }

  /**
   * The state of a snapshot after a kept one: kept already, or the kept one and the turns between
   * (the first of `deltas`), kept when that matches the snapshot's checksum. Null when it does not
   * (the caller reads the snapshot's document, which is checked in turn).
   */
  private reach(universeId: string, from: Kept, origin: Origin, deltas: Delta[][]): Kept | null {
    const kept = this.byUniverse.get(universeId)?.get(origin.position);
    if (kept) return kept;
    const between = deltas.slice(0, origin.position - from.position);
    const state = applyDeltas(from.state, upgradeDeltas(between.flat()));
    if (this.texts.checksum(freezeShared(state)) !== origin.checksum) return null;
    const reached = this.put(universeId, origin.position, origin, state);
    reached.checksum = origin.checksum;
    return reached;
  }

  /**
   * The state at `position` from a snapshot just read and found intact (its document parsed for
   * this call alone, current version), keeping both.
   */
  fromSnapshot(
    universeId: string,
    snapshot: { position: number; state: Record<string, unknown>; checksum: string },
    deltas: Delta[][],
    position: number,
    checksummed: boolean,
    textLength = 0,
    parts: readonly KnownPart[] = [],
  ): StateAt {
    if (deltas.length !== position - snapshot.position)
      throw new NotFoundError("turn", `${universeId}@${position}`);
    const origin = { position: snapshot.position, checksum: snapshot.checksum };
    const base = this.put(universeId, snapshot.position, origin, snapshot.state as UniverseState, textLength);
    // frozen with the state: the buckets' texts serve every checksum of the states that share them
    for (const { bucket, text } of parts) this.texts.knowPart(bucket, text);
    base.checksum = snapshot.checksum;
    if (deltas.length === 0) return this.answer(base, checksummed);
    const state = applyDeltas(base.state, upgradeDeltas(deltas.flat()));
    return this.answer(this.put(universeId, position, origin, state), checksummed);
  }

  private answer(kept: Kept, checksummed: boolean): StateAt {
    if (checksummed && kept.checksum === null) kept.checksum = this.texts.checksum(kept.state);
    return {
      position: kept.position,
      state: kept.state,
      checksum: checksummed ? kept.checksum! : "",
      fromSnapshot: kept.origin.position,
      replayed: kept.position - kept.origin.position,
    };
  }

  /** The newest kept state of the universe at or before `position` and at or after `after`. */
  private before(universeId: string, position: number, after: number): Kept | null {
    const positions = this.byUniverse.get(universeId);
    if (!positions) return null;
    const exact = positions.get(position);
    if (exact) return exact;
    let best: Kept | null = null;
    for (const kept of positions.values())
      if (kept.position >= after && kept.position < position && (!best || kept.position > best.position))
        best = kept;
    return best;
  }

  /** Keeps a state (frozen here: it is shared from now on); `textLength`: its document's, when parsed. */
  private put(
    universeId: string,
    position: number,
    origin: Origin,
    state: UniverseState,
    textLength?: number,
  ): Kept {
    freezeShared(state);
    const old = this.byUniverse.get(universeId)?.get(position);
    if (old) this.drop(old);
    const kept: Kept = {
      universeId,
      position,
      origin,
      checksum: null,
      state,
      bytes: textLength ? textLength * PARSED_PER_CHAR : DERIVED_BYTES,
    };
    this.kept.set(key(kept), kept);
    let positions = this.byUniverse.get(universeId);
    if (!positions) this.byUniverse.set(universeId, (positions = new Map<number, Kept>()));
    positions.set(position, kept);
    this.bytes += kept.bytes;
    for (const oldest of this.kept.values()) {
      if (this.bytes <= this.budget || oldest === kept) break;
      this.drop(oldest);
    }
    return kept;
  }

  private touch(kept: Kept): void {
    this.kept.delete(key(kept));
    this.kept.set(key(kept), kept);
  }

  private drop(kept: Kept): void {
    this.kept.delete(key(kept));
    const positions = this.byUniverse.get(kept.universeId);
    positions?.delete(kept.position);
    if (positions?.size === 0) this.byUniverse.delete(kept.universeId);
    this.bytes -= kept.bytes;
  }
}

const key = (kept: Pick<Kept, "universeId" | "position">) => `${kept.universeId}@${kept.position}`;
