import { and, asc, eq, sql } from "drizzle-orm";
import type { SavePointRecord } from "@loom/shared";
import { rowsOf, type Db } from "./rows.ts";
import { players, savePoints } from "./schema.ts";

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
  /**
   * An import's save points, as they were named (time included), in one statement. A save point
   * belongs to a player: those of players this database does not have are left out. Returns the
   * ones written.
   */
  restoreSavePoints(points: readonly SavePointRecord[]): Promise<SavePointRecord[]>;
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

  async restoreSavePoints(points: readonly SavePointRecord[]): Promise<SavePointRecord[]> {
    if (points.length === 0) return [];
    const rows = rowsOf<{
      universe_id: string;
      player_id: string;
      name: string;
      position: number;
      created_at: string;
    }>(
      await this.db.execute(sql`
        insert into ${savePoints} (universe_id, player_id, name, position, created_at)
        select v."universeId", v."playerId", v.name, v.position, v."createdAt"
        from jsonb_to_recordset(${JSON.stringify(points)}::jsonb)
          as v("universeId" text, "playerId" text, name text, position integer, "createdAt" timestamptz)
        join ${players} p on p.id = v."playerId"
        on conflict do nothing
        returning universe_id, player_id, name, position, created_at`),
    );
    return rows.map((row) => ({
      universeId: row.universe_id,
      playerId: row.player_id,
      name: row.name,
      position: row.position,
      createdAt: new Date(row.created_at).toISOString(),
    }));
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
