import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, type Stores } from "./index.ts";
import { createWorkerStores } from "./worker-store.ts";
import { NameTakenError, type AccountStore } from "../auth/account-store.ts";
import { ROTATED_KEPT } from "./accounts.ts";

const databaseUrl = process.env.DATABASE_URL;
const DAY = 24 * 3600 * 1000;
/** The reuse grace the rules below run with, unless they say grace 0. */
const GRACE = 30_000;

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
      // at the generation read just before: one racing a log-out-everywhere may be refused
      await accounts.addRefreshToken(
        { tokenHash, playerId, familyId, createdAt: t0, expiresAt: at(expiresIn) },
        (await accounts.generation(playerId))!,
      );
      return tokenHash;
    }
    const successor = (ms = 1000) => ({
      tokenHash: randomUUID(),
      createdAt: at(ms),
      expiresAt: at(ms + DAY),
    });
    /** Rotates `hash` at `ms`; the outcome's status, and the successor it was offered. */
    async function rotate(hash: string, ms: number, graceMs = GRACE) {
      const next = successor(ms);
      const outcome = await accounts.rotateRefreshToken(hash, next, at(ms), graceMs);
      return {
        status: outcome.status,
        grace: outcome.status === "rotated" && outcome.grace,
        next: next.tokenHash,
      };
    }
    const statusOf = async (hash: string, ms: number) => (await rotate(hash, ms)).status;

    it("rule 1: a login belongs to one account; players without one may share a name", async () => {
      const login = `taken-${randomUUID()}`;
      await account(login);
      await expect(account(login)).rejects.toBeInstanceOf(NameTakenError);
      await account(null);
      await account(null);
      const other = await account();
      const held = (await accounts.byId(other))!.passwordHash;
      await expect(accounts.setPassword(other, login, "scrypt$1$1$1$AA$AA", held)).rejects.toBeInstanceOf(
        NameTakenError,
      );
      expect((await accounts.byLogin(login))?.passwordHash).toBe("scrypt$1$1$1$AA$AA");
    });

    it("rule 1b: a password is set only over the one it was changed from; a login's token only at the generation it read", async () => {
      const login = `changing-${randomUUID()}`;
      const player = await account(login);
      expect(await accounts.setPassword(player, login, "scrypt$1$1$1$BB$BB", "scrypt$1$1$1$AA$AA")).toBe(
        true,
      );
      // a second change made against the first password is void
      expect(await accounts.setPassword(player, login, "scrypt$1$1$1$CC$CC", "scrypt$1$1$1$AA$AA")).toBe(
        false,
      );
      expect((await accounts.byId(player))?.passwordHash).toBe("scrypt$1$1$1$BB$BB");
      const fresh = await account(null);
      expect(await accounts.setPassword(fresh, `first-${randomUUID()}`, "scrypt$1$1$1$AA$AA", null)).toBe(
        true,
      );

      const read = (await accounts.generation(player))!;
      await accounts.revokeAll(player, at(0));
      const late = {
        tokenHash: randomUUID(),
        playerId: player,
        familyId: randomUUID(),
        createdAt: t0,
        expiresAt: at(DAY),
      };
      expect(await accounts.addRefreshToken(late, read)).toBe(false);
      expect(await accounts.rotateRefreshToken(late.tokenHash, successor(), at(1000), GRACE)).toEqual({
        status: "unknown",
      });
      expect(await accounts.addRefreshToken(late, read + 1)).toBe(true);
    });

    it("rule 2: a token rotates once; its successor works; without a grace, replaying it revokes the family", async () => {
      const player = await account();
      const first = await token(player);
      const next = successor();
      expect(await accounts.rotateRefreshToken(first, next, at(1000), 0)).toMatchObject({
        status: "rotated",
        account: { playerId: player, generation: 0 },
        grace: false,
      });
      expect(await accounts.rotateRefreshToken(first, successor(), at(1000), 0)).toEqual({
        status: "reused",
      });
      expect(await accounts.rotateRefreshToken(next.tokenHash, successor(), at(3000), 0)).toEqual({
        status: "revoked",
      });
    });

    it("rule 3: expired and unknown tokens do not rotate", async () => {
      const player = await account();
      const short = await token(player, randomUUID(), 1000);
      expect(await accounts.rotateRefreshToken(short, successor(), at(1000), GRACE)).toEqual({
        status: "expired",
      });
      expect(await accounts.rotateRefreshToken(randomUUID(), successor(), at(0), GRACE)).toEqual({
        status: "unknown",
      });
    });

    it("rule 4: revokeAll raises the generation and revokes every family; revokeFamily only one", async () => {
      const player = await account();
      const [a, b, c] = [await token(player), await token(player), await token(player)];
      expect(await accounts.revokeFamily(a, at(10))).toBe(true);
      expect(await accounts.revokeFamily(randomUUID(), at(10))).toBe(false);
      expect(await statusOf(a, 20)).toBe("revoked");
      expect(await accounts.generation(player)).toBe(0);
      expect(await accounts.revokeAll(player, at(30))).toBe(1);
      expect(await accounts.generation(player)).toBe(1);
      for (const hash of [b, c]) expect(await statusOf(hash, 40)).toBe("revoked");
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

    it("rule 5: without a grace, of two concurrent rotations of one token, exactly one succeeds", async () => {
      const player = await account();
      const shared = await token(player);
      const outcomes = await Promise.all([rotate(shared, 1000, 0), rotate(shared, 1000, 0)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["reused", "rotated"]);
    });

    it("rule 6: within the grace, a rotated token whose successor is unused rotates again; the family stays", async () => {
      // given a token rotated once, whose answer never arrived
      const player = await account();
      const first = await token(player);
      const lost = await rotate(first, 1000);
      expect(lost).toMatchObject({ status: "rotated", grace: false });
      // when it is presented again just before the grace ends, and again (a second lost answer)
      const retried = await rotate(first, 1000 + GRACE - 1000);
      expect(retried).toMatchObject({ status: "rotated", grace: true });
      const again = await rotate(first, 1000 + GRACE - 1);
      expect(again).toMatchObject({ status: "rotated", grace: true });
      // then the newest successor renews as usual
      const used = await rotate(again.next, 1000 + GRACE);
      expect(used).toMatchObject({ status: "rotated", grace: false });
      expect(await statusOf(used.next, 2000 + GRACE)).toBe("rotated");
    });

    it("rule 7: a successor set aside by a grace renewal never renews; presenting it revokes the family", async () => {
      const player = await account();
      const first = await token(player);
      const setAside = await rotate(first, 1000);
      const kept = await rotate(first, 2000);
      expect(kept).toMatchObject({ status: "rotated", grace: true });
      // even while the grace of the token before it runs
      expect(await statusOf(setAside.next, 3000)).toBe("reused");
      expect(await statusOf(kept.next, 4000)).toBe("revoked");
      expect(await statusOf(first, 5000)).toBe("revoked");
    });

    it("rule 8: within the grace, a token whose successor was used revokes the family", async () => {
      const player = await account();
      const first = await token(player);
      const second = await rotate(first, 1000);
      const third = await rotate(second.next, 2000);
      expect(third.status).toBe("rotated");
      expect(await statusOf(first, 3000)).toBe("reused");
      expect(await statusOf(third.next, 4000)).toBe("revoked");
    });

    it("rule 9: a token presented again once the grace is over revokes the family, unused successor and all", async () => {
      const player = await account();
      const first = await token(player);
      const second = await rotate(first, 1000);
      expect(await statusOf(first, 1000 + GRACE)).toBe("reused");
      expect(await statusOf(second.next, 2000 + GRACE)).toBe("revoked");
    });

    it("rule 10: a revoked family is not renewed by the grace", async () => {
      const player = await account();
      const first = await token(player);
      const second = await rotate(first, 1000);
      expect(await accounts.revokeFamily(second.next, at(1500))).toBe(true);
      expect(await statusOf(first, 2000)).toBe("revoked");
    });

    it("rule 11: concurrent renewals with one token within the grace leave one live successor", async () => {
      const player = await account();
      for (let round = 0; round < 4; round++) {
        const shared = await token(player);
        const outcomes = await Promise.all([
          rotate(shared, 1000),
          rotate(shared, 1000),
          rotate(shared, 1000),
        ]);
        // one rotation, the others honoured by the grace, each setting the one before aside
        expect(outcomes.map((o) => o.status)).toEqual(["rotated", "rotated", "rotated"]);
        expect(outcomes.filter((o) => o.grace)).toHaveLength(2);
        // so whichever successor is presented first, no second one renews
        const statuses = [];
        for (const outcome of outcomes) statuses.push(await statusOf(outcome.next, 2000));
        expect([
          ["rotated", "reused", "revoked"],
          ["reused", "revoked", "revoked"],
        ]).toContainEqual(statuses);
      }
    });

    it("rule 12: a grace renewal racing the successor's own use: exactly one renews, then the family is revoked", async () => {
      const player = await account();
      const first = await token(player);
      const second = await rotate(first, 1000);
      const outcomes = await Promise.all([rotate(first, 2000), rotate(second.next, 2000)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["reused", "rotated"]);
      const winner = outcomes.find((o) => o.status === "rotated")!;
      expect(await statusOf(winner.next, 3000)).toBe("revoked");
    });

    it(`rule 14: a family keeps its newest ${ROTATED_KEPT} rotated tokens; one rotated before them is unknown`, async () => {
      const player = await account();
      const chain = [await token(player)];
      for (let i = 1; i <= ROTATED_KEPT + 5; i++) {
        const rotated = await rotate(chain.at(-1)!, i * 60_000);
        expect(rotated.status).toBe("rotated");
        chain.push(rotated.next);
      }
      const after = (ROTATED_KEPT + 10) * 60_000;
      // the oldest five are gone: presented again, they renew nothing and revoke nothing
      for (const gone of chain.slice(0, 5)) expect(await statusOf(gone, after)).toBe("unknown");
      // the oldest kept one, presented again, is a reuse: its family is revoked
      expect(await statusOf(chain[5]!, after)).toBe("reused");
      expect(await statusOf(chain.at(-1)!, after)).toBe("revoked");
    });

    it("rule 13: renewals racing log-outs and logins of one player never fail", async () => {
      const player = await account();
      for (let round = 0; round < 5; round++) {
        const family = randomUUID();
        const first = await token(player, family);
        const second = await rotate(first, 1000);
        const other = await token(player);
        const settled = await Promise.allSettled([
          rotate(first, 2000),
          rotate(second.next, 2000),
          rotate(other, 2000),
          accounts.revokeFamily(first, at(2000)),
          accounts.revokeAll(player, at(2000)),
          token(player, randomUUID(), -DAY),
          token(player),
        ]);
        expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
        expect(await statusOf(second.next, 3000)).toBe("revoked");
      }
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
