import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "./rows.ts";
import { idempotencyKeys } from "./schema.ts";

export type IdempotencyClaim =
  /** First use of the key: run the request, then `complete` or `release` it. */
  | { state: "claimed" }
  /** Answered before: send this again. */
  | { state: "done"; status: number; response: unknown }
  /** The key came with another request. */
  | { state: "mismatch" }
  /** The first request with this key is still running. */
  | { state: "running" };

export interface ClaimRequest {
  playerId: string;
  key: string;
  /** A hash of what the request asks (method, path, body). */
  requestHash: string;
  ttlMs: number;
  /** A claim still running after this long was left by a process that died: it may be taken over. */
  staleAfterMs: number;
}

/**
 * The IdempotencyStore port: a player's Idempotency-Keys and the first response to each, kept
 * durably so a retry through any process is answered without running the write again.
 */
export interface IdempotencyStore {
  claimKey(request: ClaimRequest): Promise<IdempotencyClaim>;
  completeKey(playerId: string, key: string, status: number, response: unknown): Promise<void>;
  /** Forgets a claim whose request failed without an answer worth repeating (a 5xx). */
  releaseKey(playerId: string, key: string): Promise<void>;
  /**
   * Deletes at most `limit` expired keys, whoever's, and says how many went: fewer than `limit`
   * when no more are there to take now (rows another transaction holds are left for a later call).
   */
  deleteExpiredKeys(limit: number): Promise<number>;
}

export class IdempotencyKeys implements IdempotencyStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
  ) {}

  claimKey(request: ClaimRequest): Promise<IdempotencyClaim> {
    const { playerId, key, requestHash } = request;
    const mine = and(eq(idempotencyKeys.playerId, playerId), eq(idempotencyKeys.key, key));
    return this.db.transaction(async (tx) => {
      const now = this.clock();
      // expired keys of this player go first, so an old key is free again
      await tx
        .delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.playerId, playerId), lt(idempotencyKeys.expiresAt, now)));
      const fresh = {
        playerId,
        key,
        requestHash,
        status: null,
        response: null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + request.ttlMs),
      };
      const inserted = await tx
        .insert(idempotencyKeys)
        .values(fresh)
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (inserted.length > 0) return { state: "claimed" } as const;
      const [row] = await tx.select().from(idempotencyKeys).where(mine).for("update");
      if (!row) return { state: "running" } as const;
      if (row.requestHash !== requestHash) return { state: "mismatch" } as const;
      if (row.status !== null) return { state: "done", status: row.status, response: row.response } as const;
      const abandoned = new Date(now.getTime() - request.staleAfterMs);
      const taken = await tx
        .update(idempotencyKeys)
        .set({ createdAt: now })
        .where(and(mine, isNull(idempotencyKeys.status), lt(idempotencyKeys.createdAt, abandoned)))
        .returning({ key: idempotencyKeys.key });
      return taken.length > 0 ? ({ state: "claimed" } as const) : ({ state: "running" } as const);
    });
  }

  async completeKey(playerId: string, key: string, status: number, response: unknown): Promise<void> {
    await this.db
      .update(idempotencyKeys)
      .set({ status, response: sql`${JSON.stringify(response ?? null)}::jsonb` })
      .where(and(eq(idempotencyKeys.playerId, playerId), eq(idempotencyKeys.key, key)));
  }

  async releaseKey(playerId: string, key: string): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.playerId, playerId), eq(idempotencyKeys.key, key)));
  }

  async deleteExpiredKeys(limit: number): Promise<number> {
    // SKIP LOCKED: a claim deletes its player's expired keys too, locking them in an order of its
    // own; a sweep that waited for rows a claim holds could deadlock with it
    const expired = this.db
      .select({ playerId: idempotencyKeys.playerId, key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, this.clock()))
      .limit(limit)
      .for("update", { skipLocked: true });
    const deleted = await this.db
      .delete(idempotencyKeys)
      .where(sql`(${idempotencyKeys.playerId}, ${idempotencyKeys.key}) in (${expired})`)
      .returning({ key: idempotencyKeys.key });
    return deleted.length;
  }
}
