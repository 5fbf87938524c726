import { sql } from "drizzle-orm";
import { canonicalJson } from "@loom/shared";
import type { Db } from "./rows.ts";
import { snapshots } from "./schema.ts";
import type { SnapshotWrite } from "./turn-store.ts";

/**
 * Writes snapshots; one at an existing position replaces it (a re-taken snapshot is the same
 * state). The state is stored as its canonical JSON: parsed back, its objects already have their
 * keys in order, and the checksum of a jump's state skips re-sorting them, which would otherwise
 * be a large part of a jump's CPU.
 */
export async function upsertSnapshots(db: Db, all: readonly SnapshotWrite[]): Promise<void> {
  if (all.length === 0) return;
  // One statement may not upsert a row twice: of two snapshots of one position (two requests at
  // the same head), the later one stands, as it would in two statements.
  const list = [
    ...new Map(all.map((snapshot) => [`${snapshot.universeId}@${snapshot.position}`, snapshot])).values(),
  ];
  await db
    .insert(snapshots)
    .values(
      list.map((snapshot) => ({
        universeId: snapshot.universeId,
        position: snapshot.position,
        checksum: snapshot.checksum,
        reason: snapshot.reason,
        state: sql`${"stateJson" in snapshot ? snapshot.stateJson : canonicalJson(snapshot.state)}::json`,
        createdAt: new Date(snapshot.createdAt),
      })),
    )
    .onConflictDoUpdate({
      target: [snapshots.universeId, snapshots.position],
      set: {
        state: sql`excluded.state`,
        checksum: sql`excluded.checksum`,
        reason: sql`excluded.reason`,
        createdAt: sql`excluded.created_at`,
      },
    });
}
