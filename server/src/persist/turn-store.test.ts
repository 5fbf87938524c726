import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { checksum, type UniverseState } from "@loom/shared";
import { createTurnStore } from "./index.ts";
import { createWorkerTurnStore } from "./worker-store.ts";
import { describeTurnStoreContract, rewriteSnapshot } from "./turn-store.contract.ts";
import { describeOlderVersionContract } from "./turn-store.older-versions-contract.ts";
import type { TurnStore } from "./turn-store.ts";
import { buildUniverse } from "./testing/build.ts";

const databaseUrl = process.env.DATABASE_URL;

describeTurnStoreContract("pglite (in memory)", () => createTurnStore({ inMemory: true }));
// The server's embedded default: the same store behind a worker thread, errors and all.
describeTurnStoreContract("pglite on a worker thread", () => createWorkerTurnStore({ inMemory: true }));
describeOlderVersionContract("pglite (in memory)", () => createTurnStore({ inMemory: true }));

describe("pglite on disk", () => {
  it("keeps a universe across a restart, creating the directories above its data directory", async () => {
    // given a data directory whose parents do not exist yet
    const root = mkdtempSync(join(tmpdir(), "loom-pglite-"));
    const dataDir = join(root, "nested", "pglite");
    try {
      // when a universe is written, the store closed and opened again
      const first = await createTurnStore({ dataDir });
      const built = await buildUniverse(first, { turns: 120, batch: 60 });
      await first.close();
      const again = await createTurnStore({ dataDir });
      // then the timeline and the state are still there
      expect(await again.turnsBetween(built.id, 0, 120)).toEqual(built.turns);
      expect((await again.latestState(built.id)).checksum).toBe(built.checksums.get(120));
      await again.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000); // two cold PGlite starts, the first with initdb
});

describe("states kept for later jumps (LOOM_KEPT_STATES_FROM_KB)", () => {
  /** A store whose reader keeps the states of snapshots from `kb` KB of document up. */
  async function keepingFrom(kb: string): Promise<TurnStore> {
    const before = process.env.LOOM_KEPT_STATES_FROM_KB;
    process.env.LOOM_KEPT_STATES_FROM_KB = kb;
    try {
      return await createTurnStore({ inMemory: true });
    } finally {
      if (before === undefined) delete process.env.LOOM_KEPT_STATES_FROM_KB;
      else process.env.LOOM_KEPT_STATES_FROM_KB = before;
    }
  }

  it.each([
    // every state kept: the state kept at 15 reaches 20 by the turns, which match the snapshot's
    // checksum, so the damaged document is never read
    ["0", { fromSnapshot: 20, replayed: 5 }],
    // none kept (the default for documents this small): the snapshot before the damaged one is read
    ["256", { fromSnapshot: 10, replayed: 15, damagedSnapshots: [20] }],
  ])("from %s KB, a jump past a damaged snapshot is rebuilt as %j", async (kb, expected) => {
    // given a universe whose snapshot at 20 was damaged after a jump to 15 was made
    const store = await keepingFrom(kb);
    try {
      const built = await buildUniverse(store, {
        turns: 30,
        batch: 50,
        snapshotEvery: 10,
        checksumAt: (position) => position === 15 || position === 25,
      });
      expect((await store.stateAt(built.id, 15)).checksum).toBe(built.checksums.get(15));
      const honest = (await store.getSnapshotAtOrBefore(built.id, 20))!;
      await rewriteSnapshot(store, {
        ...honest,
        state: { ...(honest.state as UniverseState), mode: "downtime" },
      });
      // when the state at 25 is read without its checksum
      const unchecked = await store.stateWithoutChecksum(built.id, 25);
      // then it is the state at 25, rebuilt as the kept states allow
      expect(checksum(unchecked.state)).toBe(built.checksums.get(25));
      expect(unchecked).toEqual({ ...expected, position: 25, state: unchecked.state });
    } finally {
      await store.close();
    }
  });
});

// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this variant is never skipped there.
describe.skipIf(!databaseUrl)("postgres", () => {
  describeTurnStoreContract("postgres", async () =>
    cleaningUp(await createTurnStore({ databaseUrl }), databaseUrl!),
  );
  describeTurnStoreContract("postgres, group commits on their own thread", async () =>
    cleaningUp(await createTurnStore({ databaseUrl, appendThread: true }), databaseUrl!),
  );
  describeOlderVersionContract("postgres", async () =>
    cleaningUp(await createTurnStore({ databaseUrl }), databaseUrl!),
  );

  it("an append large enough to go without the per-row foreign-key check still announces its undo mark", async () => {
    // given a universe, and a connection listening to the timeline's notices
    const store = cleaningUp(await createTurnStore({ databaseUrl }), databaseUrl!);
    const listener = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    const heard: string[] = [];
    try {
      await listener.listen("loom_timeline", (payload) => heard.push(payload));
      const built = await buildUniverse(store, { turns: 10, batch: 10 });
      // when a batch of over a thousand turns is appended that marks an earlier turn undone
      await store.appendTurns(built.id, {
        expectedHead: 10,
        turns: built.campaign.take(1_200),
        undone: [4],
      });
      // then the mark was written with the triggers on: the undone turn is announced
      const announced = { t: [{ u: built.id, p: 4 }] };
      await expect
        .poll(() => heard.map((payload) => JSON.parse(payload) as unknown), { timeout: 10_000 })
        .toContainEqual(announced);
      expect((await store.turnsBetween(built.id, 0, 2_000)).map((turn) => turn.status)).toEqual(
        Array.from({ length: 1_210 }, (_, i) => (i === 3 ? "undone" : "applied")),
      );
      // and the setting did not outlive the transaction
      const [setting] = await listener<
        { role: string }[]
      >`select current_setting('session_replication_role') as role`;
      expect(setting?.role).toBe("origin");
    } finally {
      await listener.end();
      await store.close();
    }
  }, 60_000);

  it("applies the migrations to a fresh database, and again without effect", async () => {
    // given a database nobody has used
    const name = `loom_migrate_${randomUUID().replace(/-/g, "")}`;
    const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(databaseUrl!);
    url.pathname = `/${name}`;
    try {
      // when the store opens it twice
      await (await createTurnStore({ databaseUrl: url.href })).close();
      const store = await createTurnStore({ databaseUrl: url.href });
      await store.close();
      // then every table is there, the turns' search documents apart from them with their own
      // index, and each migration ran once
      const probe = postgres(url.href, { max: 1, onnotice: () => {} });
      try {
        const tables = await probe<{ table_name: string }[]>`
          select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
        expect(tables.map((t) => t.table_name)).toEqual([
          "characters",
          "idempotency_keys",
          "inherited_undos",
          "play_sessions",
          "players",
          "progression",
          "refresh_tokens",
          "runs",
          "save_points",
          "search_progress",
          "snapshot_parts",
          "snapshots",
          "turn_search",
          "turns",
          "universe_invites",
          "universe_leases",
          "universe_members",
          "universes",
        ]);
        const indexes = await probe<{ tablename: string; indexdef: string }[]>`
          select tablename, indexdef from pg_indexes where tablename in ('turns', 'turn_search')`;
        expect(indexes.filter((index) => index.indexdef.includes("tsvector"))).toEqual([]);
        expect(indexes.filter((index) => index.indexdef.includes("USING gin"))).toEqual([
          {
            tablename: "turn_search",
            indexdef: expect.stringMatching(/USING gin \(document\)/),
          },
        ]);
        const applied = await probe`select hash from drizzle.__drizzle_migrations`;
        expect(applied.length).toBeGreaterThan(0);
        expect(new Set(applied.map((m) => m.hash as string)).size).toBe(applied.length);
      } finally {
        await probe.end();
      }
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

/**
 * The Postgres database is shared with other suites, so the store the contract gets remembers the
 * universes and players it creates and deletes them (and everything under them) when closed.
 */
function cleaningUp(store: TurnStore, url: string): TurnStore {
  const universes = new Set<string>();
  const players = new Set<string>();
  const remember = (set: Set<string>, id: string) => set.add(id);
  return new Proxy(store, {
    get(target, property, receiver) {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== "function") return member;
      const value = member as (...args: unknown[]) => unknown;
      if (property === "createUniverse" || property === "branchUniverse") {
        return (input: { id: string }, ...rest: unknown[]): unknown => (
          remember(universes, input.id),
          value.call(target, input, ...rest)
        );
      }
      if (property === "createPlayer")
        return (input: { id: string }): unknown => (remember(players, input.id), value.call(target, input));
      if (property === "close") {
        return async () => {
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          try {
            const u = [...universes];
            const p = [...players];
            await sql.begin(async (tx) => {
              for (const table of [
                "inherited_undos",
                "turns",
                "turn_search",
                "search_progress",
                "snapshots",
                "snapshot_parts",
                "play_sessions",
              ]) {
                await tx.unsafe(`delete from ${table} where universe_id = any($1)`, [u]);
              }
              await tx.unsafe("delete from runs where universe_id = any($1) or player_id = any($2)", [u, p]);
              await tx.unsafe("delete from characters where universe_id = any($1) or player_id = any($2)", [
                u,
                p,
              ]);
              await tx.unsafe("delete from universes where id = any($1)", [u]);
              await tx.unsafe("delete from progression where player_id = any($1)", [p]);
              await tx.unsafe("delete from players where id = any($1)", [p]);
            });
          } finally {
            await sql.end();
          }
          await target.close();
        };
      }
      return value.bind(target) as unknown;
    },
  });
}
