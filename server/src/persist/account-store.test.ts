import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, type Stores } from "./index.ts";
import { createWorkerStores } from "./worker-store.ts";
import { NameTakenError, type AccountStore } from "../auth/account-store.ts";

const databaseUrl = process.env.DATABASE_URL;
const DAY = 24 * 3600 * 1000;

/**
 * Numbered rules every AccountStore adapter keeps. Ids are fresh per test; `cleanUp` removes the
 * players made (a shared Postgres database outlives the suite).
 */
function describeAccountStoreContract(
  name: string,
  open: () => Promise<Stores>,
  cleanUp: (playerIds: string[]) => Promise<void> = async () => undefined,
): void {
  describe(`account store contract: ${name}`, () => {
    let stores: Stores;
    let accounts: AccountStore;
    beforeAll(async () => {
      stores = await open();
      accounts = stores.accountStore;
    });
    const made: string[] = [];
    afterAll(async () => {
      await cleanUp(made);
      await stores?.turnStore.close();
    });

    const t0 = new Date(Date.UTC(2026, 0, 1));
    const at = (ms: number) => new Date(t0.getTime() + ms);
    async function account(login: string | null = `login-${randomUUID()}`) {
      const player = await accounts.createAccount({
        id: randomUUID(),
        name: "Mira",
        login,
        passwordHash: login ? "scrypt$1$1$1$AA$AA" : null,
        createdAt: t0,
      });
      made.push(player.id);
      return player.id;
    }
    async function token(playerId: string, familyId = randomUUID(), expiresIn = DAY) {
      const tokenHash = randomUUID();
      await accounts.addRefreshToken({
        tokenHash,
        playerId,
        familyId,
        createdAt: t0,
        expiresAt: at(expiresIn),
      });
      return tokenHash;
    }
    const successor = (ms = 1000) => ({
      tokenHash: randomUUID(),
      createdAt: at(ms),
      expiresAt: at(ms + DAY),
    });

    it("rule 1: a login belongs to one account; players without one may share a name", async () => {
      const login = `taken-${randomUUID()}`;
      await account(login);
      await expect(account(login)).rejects.toBeInstanceOf(NameTakenError);
      await account(null);
      await account(null);
      const other = await account();
      await expect(accounts.setPassword(other, login, "scrypt$1$1$1$AA$AA")).rejects.toBeInstanceOf(
        NameTakenError,
      );
      expect((await accounts.byLogin(login))?.passwordHash).toBe("scrypt$1$1$1$AA$AA");
    });

    it("rule 2: a token rotates once; its successor works; replaying it revokes the family", async () => {
      const player = await account();
      const first = await token(player);
      const next = successor();
      expect(await accounts.rotateRefreshToken(first, next, at(1000))).toMatchObject({
        status: "rotated",
        account: { playerId: player, generation: 0 },
      });
      expect(await accounts.rotateRefreshToken(first, successor(), at(2000))).toEqual({ status: "reused" });
      expect(await accounts.rotateRefreshToken(next.tokenHash, successor(), at(3000))).toEqual({
        status: "revoked",
      });
    });

    it("rule 3: expired and unknown tokens do not rotate", async () => {
      const player = await account();
      const short = await token(player, randomUUID(), 1000);
      expect(await accounts.rotateRefreshToken(short, successor(), at(1000))).toEqual({ status: "expired" });
      expect(await accounts.rotateRefreshToken(randomUUID(), successor(), at(0))).toEqual({
        status: "unknown",
      });
    });

    it("rule 4: revokeAll raises the generation and revokes every family; revokeFamily only one", async () => {
      const player = await account();
      const [a, b, c] = [await token(player), await token(player), await token(player)];
      expect(await accounts.revokeFamily(a, at(10))).toBe(true);
      expect(await accounts.revokeFamily(randomUUID(), at(10))).toBe(false);
      expect((await accounts.rotateRefreshToken(a, successor(), at(20))).status).toBe("revoked");
      expect(await accounts.generation(player)).toBe(0);
      expect(await accounts.revokeAll(player, at(30))).toBe(1);
      expect(await accounts.generation(player)).toBe(1);
      for (const hash of [b, c])
        expect((await accounts.rotateRefreshToken(hash, successor(), at(40))).status).toBe("revoked");
      expect(await accounts.generation(randomUUID())).toBeNull();
      const other = await account();
      const stranger = randomUUID();
      expect(await accounts.generations([player, other, stranger])).toEqual(
        new Map([
          [player, 1],
          [other, 0],
        ]),
      );
      expect(await accounts.generations([])).toEqual(new Map());
    });

    it("rule 5: of two concurrent rotations of one token, exactly one succeeds", async () => {
      const player = await account();
      const shared = await token(player);
      const outcomes = await Promise.all([
        accounts.rotateRefreshToken(shared, successor(), at(1000)),
        accounts.rotateRefreshToken(shared, successor(), at(1000)),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["reused", "rotated"]);
    });
  });
}

describeAccountStoreContract("pglite (in memory)", () => createStores({ inMemory: true }));
describeAccountStoreContract("pglite on a worker thread", () => createWorkerStores({ inMemory: true }));
// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this variant is never skipped there.
describe.skipIf(!databaseUrl)("postgres", () => {
  describeAccountStoreContract(
    "postgres",
    () => createStores({ databaseUrl }),
    async (ids) => {
      const sql = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      try {
        await sql`delete from refresh_tokens where player_id = any(${ids})`;
        await sql`delete from players where id = any(${ids})`;
      } finally {
        await sql.end();
      }
    },
  );
});
