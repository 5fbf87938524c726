import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { IdempotencyKeys } from "./idempotency-store.ts";
import { IdempotencySweep } from "./idempotency-sweep.ts";
import { createWorkerStores } from "./worker-store.ts";

const databaseUrl = process.env.DATABASE_URL;

/** A claim that expires `ttlMs` from now. */
function claim(playerId: string, key: string, ttlMs: number) {
  return { playerId, key, requestHash: `hash of ${key}`, ttlMs, staleAfterMs: 60_000 };
}

const expire = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Rules of the sweep of expired keys, run against each database. Other tests may share the
 * database (Postgres): each rule looks at its own players' rows only, and makes no key expire
 * that would not have expired anyway.
 */
function describeSweepContract(name: string, open: () => Promise<OpenDatabase>) {
  describe(`expired Idempotency-Keys are swept (${name})`, () => {
    let database: OpenDatabase;
    let store: IdempotencyKeys;
    beforeAll(async () => {
      database = await open();
      store = new IdempotencyKeys(database.db, () => new Date());
    });
    afterAll(async () => {
      await database?.close();
    });

    /** Keys that expired a minute ago, as a claim long past would have left them. */
    async function expired(playerId: string, keys: string[]): Promise<void> {
      const values = keys
        .map((key) => `('${playerId}', '${key}', 'hash', now() - interval '1 minute')`)
        .join(", ");
      await database.query(
        `insert into idempotency_keys (player_id, key, request_hash, expires_at) values ${values}`,
      );
    }

    /** The keys of these players still stored. */
    async function keysOf(...players: string[]): Promise<string[]> {
      const list = players.map((player) => `'${player}'`).join(", ");
      const rows = await database.query<{ key: string }>(
        `select key from idempotency_keys where player_id in (${list}) order by key`,
      );
      return rows.map((row) => row.key);
    }

    it("1. a player who never comes back loses their expired keys; another player's unexpired key stays", async () => {
      // given a player whose keys have expired, and another's key that has not
      const gone = randomUUID();
      const staying = randomUUID();
      await store.claimKey(claim(gone, "undo-1", 1));
      await store.completeKey(gone, "undo-1", 200, { ok: true });
      await store.claimKey(claim(staying, "retcon-1", 3_600_000));
      await store.completeKey(staying, "retcon-1", 200, { turn: 7 });
      await expire();
      // when the sweep runs, the first player making no claim meanwhile
      await new IdempotencySweep(store).sweep();
      // then their keys are gone, and the other's still answers its retry
      expect(await keysOf(gone, staying)).toEqual(["retcon-1"]);
      expect(await store.claimKey(claim(staying, "retcon-1", 3_600_000))).toEqual({
        state: "done",
        status: 200,
        response: { turn: 7 },
      });
    });

    it("2. one statement deletes at most its batch; a sweep makes several until none are left", async () => {
      // given five expired keys
      const player = randomUUID();
      await expired(player, ["a", "b", "c", "d", "e"]);
      // when one statement of two runs, then no more than two go
      expect(await store.deleteExpiredKeys(2)).toBeLessThanOrEqual(2);
      expect((await keysOf(player)).length).toBeGreaterThanOrEqual(3);
      // when a sweep of batches of two runs, then all of them go
      const sweep = new IdempotencySweep(store, { intervalMs: 60_000, batch: 2, maxBatches: 1_000 });
      expect(await sweep.sweep()).toBeGreaterThanOrEqual(3);
      expect(await keysOf(player)).toEqual([]);
    });

    it("3. a sweep and claims at the same time all finish", async () => {
      // given expired keys of one player, who comes back claiming keys while sweeps run
      const player = randomUUID();
      await expired(
        player,
        Array.from({ length: 20 }, (_, i) => `old-${i}`),
      );
      // when both run at once
      const claims = Array.from({ length: 10 }, (_, i) =>
        store.claimKey(claim(player, `new-${i}`, 3_600_000)),
      );
      const sweeps = [1, 2].map(() => store.deleteExpiredKeys(5));
      // then every claim is taken, no statement failed, and only the new keys are left
      expect((await Promise.all(claims)).every((answer) => answer.state === "claimed")).toBe(true);
      await Promise.all(sweeps);
      await new IdempotencySweep(store).sweep();
      expect(await keysOf(player)).toEqual(Array.from({ length: 10 }, (_, i) => `new-${i}`).sort());
    });
  });
}

describeSweepContract("pglite (in memory)", () => openDatabase({ inMemory: true }));
describe.skipIf(!databaseUrl)("postgres", () => {
  describeSweepContract("postgres", () => openDatabase({ databaseUrl }));
});

describe("the sweep on the server's embedded store", () => {
  it("crosses to the worker thread like the store's other methods", async () => {
    // given the store on a worker thread, one player's key expired and another's not
    const stores = await createWorkerStores({ inMemory: true });
    try {
      await stores.idempotency.claimKey(claim("gone", "undo-1", 1));
      await stores.idempotency.claimKey(claim("staying", "undo-1", 3_600_000));
      await expire();
      // when it is swept, then the expired key alone went
      expect(await stores.idempotency.deleteExpiredKeys(10)).toBe(1);
      expect(await stores.idempotency.deleteExpiredKeys(10)).toBe(0);
      expect(await stores.idempotency.claimKey(claim("staying", "undo-1", 3_600_000))).toEqual({
        state: "running",
      });
    } finally {
      await stores.turnStore.close();
    }
  });
});

describe("the sweep's timer", () => {
  it("sweeps every interval until stopped, and a failing sweep waits for the next", async () => {
    // given a store whose first sweep fails
    const calls: number[] = [];
    const store = {
      deleteExpiredKeys: async (limit: number) => {
        calls.push(limit);
        if (calls.length === 1) throw new Error("the database is restarting");
        return 0;
      },
    };
    const sweep = new IdempotencySweep(store, { intervalMs: 10, batch: 100, maxBatches: 3 });
    // when it runs a while, then stops
    sweep.start();
    await expect.poll(() => calls.length).toBeGreaterThanOrEqual(3);
    await sweep.stop();
    const after = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    // then it kept sweeping after the failure, a statement a sweep when nothing had expired, and
    // not after it stopped
    expect(calls.every((limit) => limit === 100)).toBe(true);
    expect(calls.length).toBe(after);
  });
});
