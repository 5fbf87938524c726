import { and, asc, desc, eq, gte, lte, sql } from "drizzle-orm";
import { applyDeltas, checksum, STATE_VERSION, upcastState } from "@loom/shared";
import type { Snapshot, UniverseState } from "@loom/shared";
import { slices } from "./ancestry.ts";
import type { Ancestry, Chain } from "./ancestry.ts";
import { toSnapshot } from "./rows.ts";
import type { Db } from "./rows.ts";
import { snapshots, turns } from "./schema.ts";
import { positionsIn } from "./timeline.ts";
import { ChecksumMismatchError, NotFoundError } from "./turn-store.ts";
import type { StateAt } from "./turn-store.ts";

type SnapshotRow = typeof snapshots.$inferSelect;

/**
 * States at positions: the nearest snapshot at or before the position plus the deltas after it,
 * read column by column (only `position` and `deltas` of the turns) along the branch's chain.
 */
export class StateReader {
  constructor(
    private readonly db: Db,
    private readonly ancestry: Ancestry,
  ) {}

  async putSnapshot(snapshot: Snapshot): Promise<void> {
    const row = { ...snapshot, createdAt: new Date(snapshot.createdAt) };
    await this.db
      .insert(snapshots)
      .values(row)
      .onConflictDoUpdate({
        target: [snapshots.universeId, snapshots.position],
        set: { state: sql`excluded.state`, checksum: sql`excluded.checksum`, reason: sql`excluded.reason`, createdAt: sql`excluded.created_at` },
      });
  }

  async getSnapshotAtOrBefore(universeId: string, position: number): Promise<Snapshot | null> {
    const row = await this.nearestSnapshot(await this.ancestry.chain(universeId), position);
    return row ? toSnapshot(row, universeId) : null;
  }

  async stateAt(universeId: string, position: number): Promise<StateAt> {
    const chain = await this.ancestry.chain(universeId);
    const snapshot = await this.nearestSnapshot(chain, position);
    if (!snapshot) throw new NotFoundError("snapshot", `${universeId}@≤${position}`);
    return this.replay(chain, universeId, snapshot, position);
  }

  async verifySnapshot(universeId: string, position: number): Promise<void> {
    const chain = await this.ancestry.chain(universeId);
    const snapshot = await this.nearestSnapshot(chain, position);
    if (!snapshot || snapshot.position !== position) throw new NotFoundError("snapshot", `${universeId}@${position}`);
    const stored = checksum(snapshot.state);
    const previous = position > 0 ? await this.nearestSnapshot(chain, position - 1) : null;
    const replayed = previous ? (await this.replay(chain, universeId, previous, position)).checksum : stored;
    if (replayed !== snapshot.checksum) throw new ChecksumMismatchError(universeId, position, snapshot.checksum, replayed);
    // A state edited under an intact checksum: the replay agrees with the checksum, not with the state.
    if (stored !== replayed) throw new ChecksumMismatchError(universeId, position, stored, replayed);
  }

  /** The newest snapshot at or before `position` on the timeline: the universe's own first, then its ancestors'. */
  private async nearestSnapshot(chain: Chain, position: number): Promise<SnapshotRow | null> {
    for (let i = chain.length - 1; i >= 0; i--) {
      const segment = chain[i]!;
      if (segment.after > position) continue;
      const [row] = await this.db
        .select()
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
      if (row) return row;
    }
    return null;
  }

  private async replay(chain: Chain, universeId: string, snapshot: SnapshotRow, position: number): Promise<StateAt> {
    const parts = await Promise.all(
      slices(chain, snapshot.position, position).map((slice) =>
        this.db
          .select({ deltas: turns.deltas })
          .from(turns)
          .where(positionsIn(slice.segment.universeId, slice.after, slice.through))
          .orderBy(asc(turns.position)),
      ),
    );
    const rows = parts.flat();
    if (rows.length !== position - snapshot.position) throw new NotFoundError("turn", `${universeId}@${position}`);
    let state = asState(snapshot.state);
    for (const row of rows) state = applyDeltas(state, row.deltas);
    return {
      position,
      state,
      checksum: rows.length === 0 ? snapshot.checksum : checksum(state),
      fromSnapshot: snapshot.position,
      replayed: rows.length,
    };
  }
}

/** Snapshots of the current version are used as stored; older ones go through the upcasters. */
function asState(document: Record<string, unknown>): UniverseState {
  return document.version === STATE_VERSION ? (document as UniverseState) : upcastState(document);
}
