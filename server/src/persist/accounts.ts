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

  async setPassword(
    playerId: string,
    login: string,
    passwordHash: string,
    expected: string | null,
  ): Promise<boolean> {
    try {
      const set = await this.db
        .update(players)
        .set({ login, passwordHash })
        .where(
          and(
            eq(players.id, playerId),
            expected === null ? isNull(players.passwordHash) : eq(players.passwordHash, expected),
          ),
        )
        .returning({ id: players.id });
      return set.length > 0;
    } catch (error) {
      if (isUniqueViolation(error)) throw new NameTakenError(login);
      throw error;
    }
  }

  async revokeAll(playerId: string, now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      // the update locks the player's row, as lockPlayer does
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

  async addRefreshToken(token: NewRefreshToken, generation: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const account = await lockPlayer(tx, token.playerId);
      if (account?.generation !== generation) return false;
      await dropExpired(tx, token.playerId, token.createdAt);
      await tx.insert(refreshTokens).values(token);
      return true;
    });
  }

  async rotateRefreshToken(
    tokenHash: string,
    next: Omit<NewRefreshToken, "playerId" | "familyId">,
    now: Date,
    graceMs: number,
  ): Promise<RotateOutcome> {
    return this.db.transaction(async (tx): Promise<RotateOutcome> => {
      const seen = await tokenRow(tx, tokenHash);
      const account = seen ? await lockPlayer(tx, seen.playerId) : null;
      // read again under the lock: another renewal may have rotated it while this one waited
      const token = account ? await tokenRow(tx, tokenHash) : undefined;
      if (!token || !account) return { status: "unknown" };
      if (token.revokedAt) return { status: "revoked" };
      if (token.rotatedAt) return rotateAgain(tx, token, token.rotatedAt, account, next, now, graceMs);
      if (token.expiresAt.getTime() <= now.getTime()) return { status: "expired" };
      await tx
        .update(refreshTokens)
        .set({ rotatedAt: now, successorHash: next.tokenHash })
        .where(eq(refreshTokens.tokenHash, tokenHash));
      await tx.insert(refreshTokens).values({ ...next, playerId: token.playerId, familyId: token.familyId });
      await dropExpired(tx, token.playerId, now);
      await dropOldRotated(tx, token.familyId);
      return { status: "rotated", account, grace: false };
    });
  }

  async revokeFamily(tokenHash: string, now: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const token = await tokenRow(tx, tokenHash);
      if (!token) return false;
      await lockPlayer(tx, token.playerId);
      await revokeFamilyTokens(tx, token.familyId, now);
      return true;
    });
  }
}

type TokenRow = typeof refreshTokens.$inferSelect;

/**
 * Every write of a player's refresh tokens first locks the player's row, so that renewals, grace
 * renewals, reuses, log-outs and logins of one player take turns: each reads what the one before
 * committed, and none waits for another's token rows while holding its own. `no key update`
 * leaves rows that refer to the player (memberships, turns) free to be written meanwhile.
 */
async function lockPlayer(tx: Db, playerId: string): Promise<Account | null> {
  const [row] = await tx.select().from(players).where(eq(players.id, playerId)).for("no key update");
  return row ? toAccount(row) : null;
}

async function tokenRow(tx: Db, tokenHash: string): Promise<TokenRow | undefined> {
  const [row] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash));
  return row;
}

/**
 * Drops the player's tokens that expired before `now`: each renewal adds a row, so a device that
 * stays logged in for months by renewing, and never logs in again, would otherwise keep every
 * token it was ever given. An expired token renews nothing either way; presented again, it is
 * refused as unknown rather than as expired or reused.
 */
async function dropExpired(tx: Db, playerId: string, now: Date): Promise<void> {
  await tx
    .delete(refreshTokens)
    .where(and(eq(refreshTokens.playerId, playerId), lt(refreshTokens.expiresAt, now)));
}

/**
 * How many rotated tokens a family keeps, newest first (ROTATED_KEPT): a day and more of renewals
 * at the access token's lifetime, for telling a stolen token presented again (its family is
 * revoked). Each renewal adds a row, and a client renewing in a loop kept every one for the
 * refresh token's lifetime; one rotated before those is refused as unknown, renewing nothing.
 */
export const ROTATED_KEPT = 100;

async function dropOldRotated(tx: Db, familyId: string): Promise<void> {
  await tx.execute(sql`
    delete from ${refreshTokens}
    where family_id = ${familyId} and rotated_at is not null and token_hash not in (
      select token_hash from ${refreshTokens}
      where family_id = ${familyId} and rotated_at is not null
      order by rotated_at desc, created_at desc
      limit ${ROTATED_KEPT}
    )`);
}

async function revokeFamilyTokens(tx: Db, familyId: string, now: Date): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/**
 * A rotated token presented again, under its player's lock. Within the grace after its rotation,
 * with its successor neither rotated nor revoked, the answer that carried the successor was most
 * likely lost, and it rotates again. The unused successor is set aside (rotated, with no
 * successor of its own): it never renews again, and presenting it later revokes the family, as
 * whoever holds it is not whoever came back. So the family has one live token at a time, and as
 * the grace runs from the first rotation, two holders of one token cannot keep renewing past it.
 * Otherwise two holders have the token, one of them not the player: the family is revoked.
 */
async function rotateAgain(
  tx: Db,
  token: TokenRow,
  rotatedAt: Date,
  account: Account,
  next: Omit<NewRefreshToken, "playerId" | "familyId">,
  now: Date,
  graceMs: number,
): Promise<RotateOutcome> {
  const successor = token.successorHash ? await tokenRow(tx, token.successorHash) : undefined;
  const withinGrace =
    now.getTime() - rotatedAt.getTime() < graceMs && token.expiresAt.getTime() > now.getTime();
  if (withinGrace && successor && !successor.rotatedAt && !successor.revokedAt) {
    await tx
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .where(eq(refreshTokens.tokenHash, successor.tokenHash));
    await tx
      .update(refreshTokens)
      .set({ successorHash: next.tokenHash })
      .where(eq(refreshTokens.tokenHash, token.tokenHash));
    await tx.insert(refreshTokens).values({ ...next, playerId: token.playerId, familyId: token.familyId });
    await dropExpired(tx, token.playerId, now);
    await dropOldRotated(tx, token.familyId);
    return { status: "rotated", account, grace: true };
  }
  await revokeFamilyTokens(tx, token.familyId, now);
  return { status: "reused" };
}
