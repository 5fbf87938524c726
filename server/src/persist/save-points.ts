import { and, asc, eq } from "drizzle-orm";
import type { SavePointRecord } from "@loom/shared";
import type { Db } from "./rows.ts";
import { savePoints } from "./schema.ts";

export type SavePointNaming = { ok: true; savePoint: SavePointRecord } | { ok: false; reason: "name_taken" };

/**
 * The SavePointStore port: the save points players name in a universe's timeline. Whether the
 * position is the player's own latest turn is the caller's check (it reads the live timeline);
 * here the name is unique per player and universe, decided by the primary key.
 */
export interface SavePointStore {
  nameSavePoint(point: Omit<SavePointRecord, "createdAt">): Promise<SavePointNaming>;
  /** A universe's save points by position, one player's when `playerId` is given. */
  listSavePoints(universeId: string, playerId?: string): Promise<SavePointRecord[]>;
}

function toSavePoint(row: typeof savePoints.$inferSelect): SavePointRecord {
  return { ...row, createdAt: row.createdAt.toISOString() };
}

export class SavePoints implements SavePointStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
  ) {}

  async nameSavePoint(point: Omit<SavePointRecord, "createdAt">): Promise<SavePointNaming> {
    const [row] = await this.db
      .insert(savePoints)
      .values({ ...point, createdAt: this.clock() })
      .onConflictDoNothing()
      .returning();
    return row ? { ok: true, savePoint: toSavePoint(row) } : { ok: false, reason: "name_taken" };
  }

  async listSavePoints(universeId: string, playerId?: string): Promise<SavePointRecord[]> {
    const rows = await this.db
      .select()
      .from(savePoints)
      .where(
        playerId === undefined
          ? eq(savePoints.universeId, universeId)
          : and(eq(savePoints.universeId, universeId), eq(savePoints.playerId, playerId)),
      )
      .orderBy(asc(savePoints.position), asc(savePoints.name));
    return rows.map(toSavePoint);
  }
}
