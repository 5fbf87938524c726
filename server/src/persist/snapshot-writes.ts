import { sql } from "drizzle-orm";
import { canonicalJson, type Snapshot } from "@loom/shared";
import type { Db } from "./rows.ts";
import { snapshotParts, snapshots } from "./schema.ts";
import { PIECES_APART } from "./snapshot-parts.ts";
import type { EncodedSnapshot, PartedSnapshot, SnapshotWrite } from "./turn-store.ts";

/** Rows of one multi-row insert into `snapshot_parts` (three parameters each). */
const PARTS_PER_STATEMENT = 5_000;

/**
 * Writes snapshots; one at an existing position replaces it (a re-taken snapshot is the same
 * state). The state is stored as its canonical JSON: parsed back, its objects already have their
 * keys in order, and the checksum of a jump's state skips re-sorting them, which would otherwise
 * be a large part of a jump's CPU. One cut around its parts (the authority's, snapshot-parts.ts)
 * is stored by part, each part the universe holds already skipped by the database; a state or its
 * text alone (a universe's genesis, a branch point, a repair, an import) is stored whole.
 */
export async function upsertSnapshots(db: Db, all: readonly SnapshotWrite[]): Promise<void> {
  if (all.length === 0) return;
  // One statement may not upsert a row twice: of two snapshots of one position (two requests at
  // the same head), the later one stands, as it would in two statements.
  const list = [
    ...new Map(all.map((snapshot) => [`${snapshot.universeId}@${snapshot.position}`, snapshot])).values(),
  ];
  const parted: PartedSnapshot[] = [];
  const whole: Array<Snapshot | EncodedSnapshot> = [];
  for (const snapshot of list) {
    if ("stateParts" in snapshot) parted.push(snapshot);
    else whole.push(snapshot);
  }
  const partRows = new Map<string, { universeId: string; digest: string; document: string }>();
  for (const { universeId, stateParts } of parted)
    stateParts.digests.forEach((digest, i) =>
      partRows.set(`${universeId}/${digest}`, { universeId, digest, document: stateParts.documents[i]! }),
    );
  const parts = [...partRows.values()];
  const statements: Promise<unknown>[] = [];
  for (let from = 0; from < parts.length; from += PARTS_PER_STATEMENT)
    statements.push(
      db
        .insert(snapshotParts)
        .values(parts.slice(from, from + PARTS_PER_STATEMENT))
        .onConflictDoNothing(),
    );
  const common = (snapshot: SnapshotWrite) => ({
    universeId: snapshot.universeId,
    position: snapshot.position,
    checksum: snapshot.checksum,
    reason: snapshot.reason,
    createdAt: new Date(snapshot.createdAt),
  });
  const replaced = {
    checksum: sql`excluded.checksum`,
    reason: sql`excluded.reason`,
    createdAt: sql`excluded.created_at`,
  };
  if (parted.length > 0)
    statements.push(
      db
        .insert(snapshots)
        .values(
          parted.map((snapshot) => ({
            ...common(snapshot),
            state: null,
            skeleton: snapshot.stateParts.pieces.join(PIECES_APART),
            parts: snapshot.stateParts.digests,
          })),
        )
        .onConflictDoUpdate({
          target: [snapshots.universeId, snapshots.position],
          set: {
            ...replaced,
            state: sql`null`,
            skeleton: sql`excluded.skeleton`,
            parts: sql`excluded.parts`,
          },
        }),
    );
  // Written as before the parts' columns were, naming none of them (a whole document stands over
  // any parts a row had: every reader takes `state` first).
  if (whole.length > 0)
    statements.push(
      db.execute(sql`
        insert into ${snapshots} (universe_id, position, reason, created_at, checksum, state)
        values ${sql.join(
          whole.map(
            (snapshot) =>
              sql`(${snapshot.universeId}, ${snapshot.position}, ${snapshot.reason}, ${snapshot.createdAt}::timestamptz, ${snapshot.checksum}, ${"stateJson" in snapshot ? snapshot.stateJson : canonicalJson(snapshot.state)}::json)`,
          ),
          sql`, `,
        )}
        on conflict (universe_id, position) do update set reason = excluded.reason,
          created_at = excluded.created_at, checksum = excluded.checksum, state = excluded.state`),
    );
  // independent statements, one flight (the snapshot's parts have no key to the snapshot)
  await Promise.all(statements);
}
