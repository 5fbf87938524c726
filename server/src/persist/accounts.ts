import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { PlayerRecord } from "@loom/shared";
import {
  NameTakenError,
  type Account,
  type AccountStore,
  type NewRefreshToken,
  type RotateOutcome,
} from "../auth/account-store.ts";
import { isUniqueViolation } from "./append.ts";
import { toPlayer, type Db } from "./rows.ts";
import { players, refreshTokens } from "./schema.ts";

function toAccount(row: typeof players.$inferSelect): Account {
  return {
    playerId: row.id,
    name: row.name,
    login: row.login,
    passwordHash: row.passwordHash,
    generation: row.tokenGeneration,
  };
}

/** The AccountStore over the drizzle database, for Postgres and PGlite alike. */
export class DrizzleAccountStore implements AccountStore {
  constructor(private readonly db: Db) {}

  async createAccount(input: {
    id: string;
    name: string;
    login: string | null;
    passwordHash: string | null;
    createdAt: Date;
  }): Promise<PlayerRecord> {
    try {
      const [row] = await this.db.insert(players).values(input).returning();
      return toPlayer(row!);
    } catch (error) {
      if (input.login !== null && isUniqueViolation(error)) throw new NameTakenError(input.login);
      throw error;
    }
  }

  async byLogin(login: string): Promise<Account | null> {
    const [row] = await this.db.select().from(players).where(eq(players.login, login));
    return row ? toAccount(row) : null;
  }

  async byId(playerId: string): Promise<Account | null> {
    const [row] = await this.db.select().from(players).where(eq(players.id, playerId));
    return row ? toAccount(row) : null;
  }

  async generation(playerId: string): Promise<number | null> {
    const [row] = await this.db
      .select({ generation: players.tokenGeneration })
      .from(players)
      .where(eq(players.id, playerId));
    return row ? row.generation : null;
  }

  async generations(playerIds: readonly string[]): Promise<Map<string, number>> {
    if (playerIds.length === 0) return new Map();
    const rows = await this.db
      .select({ id: players.id, generation: players.tokenGeneration })
      .from(players)
      .where(inArray(players.id, [...playerIds]));
    return new Map(rows.map((row) => [row.id, row.generation]));
  }

  async setPassword(playerId: string, login: string, passwordHash: string): Promise<void> {
    try {
      await this.db.update(players).set({ login, passwordHash }).where(eq(players.id, playerId));
    } catch (error) {
      if (isUniqueViolation(error)) throw new NameTakenError(login);
      throw error;
    }
  }

  async revokeAll(playerId: string, now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(players)
        .set({ tokenGeneration: sql`${players.tokenGeneration} + 1` })
        .where(eq(players.id, playerId))
        .returning({ generation: players.tokenGeneration });
      await tx
        .update(refreshTokens)
        .set({ revokedAt: now })
        .where(and(eq(refreshTokens.playerId, playerId), isNull(refreshTokens.revokedAt)));
      return row?.generation ?? 0;
    });
  }

  async addRefreshToken(token: NewRefreshToken): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx
        .delete(refreshTokens)
        .where(and(eq(refreshTokens.playerId, token.playerId), lt(refreshTokens.expiresAt, token.createdAt)));
      await tx.insert(refreshTokens).values(token);
    });
  }

  async rotateRefreshToken(
    tokenHash: string,
    next: Omit<NewRefreshToken, "playerId" | "familyId">,
    now: Date,
  ): Promise<RotateOutcome> {
    return this.db.transaction(async (tx): Promise<RotateOutcome> => {
      const [token] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, tokenHash))
        .for("update");
      if (!token) return { status: "unknown" };
      if (token.revokedAt) return { status: "revoked" };
      if (token.rotatedAt) {
        await tx
          .update(refreshTokens)
          .set({ revokedAt: now })
          .where(and(eq(refreshTokens.familyId, token.familyId), isNull(refreshTokens.revokedAt)));
        return { status: "reused" };
      }
      if (token.expiresAt.getTime() <= now.getTime()) return { status: "expired" };
      const [player] = await tx.select().from(players).where(eq(players.id, token.playerId));
      if (!player) return { status: "unknown" };
      await tx.update(refreshTokens).set({ rotatedAt: now }).where(eq(refreshTokens.tokenHash, tokenHash));
      await tx.insert(refreshTokens).values({ ...next, playerId: token.playerId, familyId: token.familyId });
      return { status: "rotated", account: toAccount(player) };
    });
  }

  async revokeFamily(tokenHash: string, now: Date): Promise<boolean> {
    const [token] = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, tokenHash));
    if (!token) return false;
    await this.db
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.familyId, token.familyId), isNull(refreshTokens.revokedAt)));
    return true;
  }
}
