import { and, count, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import type { SavePointRecord } from "@loom/shared";
import { rowsOf, type Db } from "./rows.ts";
import { players, savePoints } from "./schema.ts";

export type SavePointNaming =
  { ok: true; savePoint: SavePointRecord } | { ok: false; reason: "name_taken" | "too_many_save_points" };

/** Where a page of save points ends: the next page starts below it. */
export type SavePointKey = Pick<SavePointRecord, "position" | "playerId" | "name">;

export interface SavePointQuery {
  /** One player's save points; without it, everyone's. */
  playerId?: string;
  /** Only those below a position (a bookmarks page's upper end), or below the last of a page. */
  before?: number | SavePointKey;
  /** Only those at this position or above. */
  from?: number;
  limit: number;
}

/**
 * The two-key advisory lock space of naming save points (it does not overlap the one-key space
 * the migrations lock in): one lock per universe and player, so two requests at one below the
 * cap do not both count one below it.
 */
const SAVE_POINT_LOCK = 0x5350;

/**
 * The SavePointStore port: the save points players name in a universe's timeline. Whether the
 * position is the player's own latest turn is the caller's check (it reads the live timeline);
 * here the name is unique per player and universe, decided by the primary key, and a player holds
 * at most the cap they are given there, counted under a lock.
 */
export interface SavePointStore {
  /** Refused when the name is taken, or when the player already has `limit` save points here. */
  nameSavePoint(point: Omit<SavePointRecord, "createdAt">, limit: number): Promise<SavePointNaming>;
  /** Forgets one of a player's save points; null when they have none of that name. */
  removeSavePoint(universeId: string, playerId: string, name: string): Promise<SavePointRecord | null>;
  /** A page of a universe's save points, newest first (then by player and name, descending). */
  listSavePoints(universeId: string, query: SavePointQuery): Promise<SavePointRecord[]>;
}

/**
 * An import's save points, written in its transaction (imports.ts) as they were named, without the
 * cap; those of players this database does not have are left out. Returns how many were written.
 * A name a player holds twice is the primary key's refusal, and takes the import with it.
 */
export async function writeImportedSavePoints(
  tx: Db,
  universeId: string,
  points: ReadonlyArray<Omit<SavePointRecord, "universeId">>,
): Promise<number> {
  if (points.length === 0) return 0;
  const [written] = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with written as (
        insert into ${savePoints} (universe_id, player_id, name, position, created_at)
        select ${universeId}, v."playerId", v.name, v.position, v."createdAt"
        from jsonb_to_recordset(${JSON.stringify(points)}::jsonb)
          as v("playerId" text, name text, position integer, "createdAt" timestamptz)
        join ${players} p on p.id = v."playerId"
        returning 1)
      select count(*)::int as n from written`),
  );
  return written?.n ?? 0;
}

function toSavePoint(row: typeof savePoints.$inferSelect): SavePointRecord {
  return { ...row, createdAt: row.createdAt.toISOString() };
}

export class SavePoints implements SavePointStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
  ) {}

  nameSavePoint(point: Omit<SavePointRecord, "createdAt">, limit: number): Promise<SavePointNaming> {
    return this.db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(${SAVE_POINT_LOCK}, hashtext(${point.universeId} || ' ' || ${point.playerId}))`,
      );
      const [held] = await tx
        .select({
          n: count(),
          taken: sql<boolean>`coalesce(bool_or(${savePoints.name} = ${point.name}), false)`,
        })
        .from(savePoints)
        .where(and(eq(savePoints.universeId, point.universeId), eq(savePoints.playerId, point.playerId)));
      // a name already held is that answer, at the cap too: it names nothing new
      if (held?.taken) return { ok: false, reason: "name_taken" } as const;
      if ((held?.n ?? 0) >= limit) return { ok: false, reason: "too_many_save_points" } as const;
      const [row] = await tx
        .insert(savePoints)
        .values({ ...point, createdAt: this.clock() })
        .onConflictDoNothing()
        .returning();
      return row ? { ok: true, savePoint: toSavePoint(row) } : ({ ok: false, reason: "name_taken" } as const);
    });
  }

  async removeSavePoint(universeId: string, playerId: string, name: string): Promise<SavePointRecord | null> {
    const [row] = await this.db
      .delete(savePoints)
      .where(
        and(
          eq(savePoints.universeId, universeId),
          eq(savePoints.playerId, playerId),
          eq(savePoints.name, name),
        ),
      )
      .returning();
    return row ? toSavePoint(row) : null;
  }

  async listSavePoints(universeId: string, query: SavePointQuery): Promise<SavePointRecord[]> {
    const { playerId, before, from, limit } = query;
    const where: SQL[] = [eq(savePoints.universeId, universeId)];
    if (playerId !== undefined) where.push(eq(savePoints.playerId, playerId));
    if (typeof before === "number") where.push(lt(savePoints.position, before));
    else if (before !== undefined)
      where.push(
        sql`(${savePoints.position}, ${savePoints.playerId}, ${savePoints.name}) < (${before.position}::integer, ${before.playerId}::text, ${before.name}::text)`,
      );
    if (from !== undefined) where.push(gte(savePoints.position, from));
    const rows = await this.db
      .select()
      .from(savePoints)
      .where(and(...where))
      .orderBy(desc(savePoints.position), desc(savePoints.playerId), desc(savePoints.name))
      .limit(limit);
    return rows.map(toSavePoint);
  }
}
