import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, evolve, seededDice, type Narration, type Turn, type UniverseState } from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { createStores, type Stores } from "../server/src/persist/index.ts";
import { exportUniverse, importJsonl, verifyTimeline } from "../server/src/export/index.ts";
import { writeFileStreamed } from "../server/src/cli/output.ts";
import { MemoryLiveStore } from "../server/src/live/memory.ts";
import { UniverseAuthority } from "../server/src/universe/authority.ts";
import { PersistHealth } from "../server/src/universe/persist-health.ts";
import { sql } from "drizzle-orm";
import { tempDir } from "./support/server.ts";
import { appendPlayed } from "./support/timeline.ts";

/**
 * Export → import → verify of a long campaign played by the rules (shared/src/testing/campaign.ts:
 * actions, GM events, scenes, compels, undos, retcons, sessions), narrated, with a branch that
 * plays on with dice of its own: every snapshot of every import has the checksum of the original's
 * at the same position, and replaying each import from its genesis agrees with every snapshot.
 * 10,000 turns on Postgres; 2,000 embedded, where PGlite is slower (the same code either way).
 */
const SEED = 17_017;
const SNAPSHOT_EVERY = 250;

interface Size {
  turns: number;
  branchAt: number;
  branchTurns: number;
}

const sizes: Array<{ name: string; databaseUrl: string | null; size: Size }> = [
  { name: "embedded", databaseUrl: null, size: { turns: 2_000, branchAt: 1_200, branchTurns: 600 } },
  {
    name: "postgres",
    databaseUrl: process.env.DATABASE_URL || null,
    size: { turns: 10_000, branchAt: 6_000, branchTurns: 3_000 },
  },
];

/** Recorded prose for a turn, as a narrator would have attached it (session turns have none). */
function narrated(turn: Turn): Turn {
  if (turn.kind === "session_start" || turn.kind === "session_end") return turn;
  const narration: Narration = {
    text: `Turn ${turn.position}: ${turn.events.map((event) => event.description).join(" ") || "the tide turns"}.`,
    narrator: "template",
    model: null,
    seed: turn.position,
    promptHash: null,
    tokens: null,
  };
  return { ...turn, narration };
}

for (const { name, databaseUrl, size } of sizes) {
  describe.skipIf(name === "postgres" && !databaseUrl)(
    `export → import → verify round trip (${name})`,
    () => {
      let stores: Stores;
      const work = tempDir("loom-round-trip-");
      const parentId = `round-trip-${randomUUID()}`;
      const branchId = `${parentId}-branch`;
      /** Who the imports make their game master: a player of this database. */
      const importer = `gm-${randomUUID()}`;
      /** Turns appended after `from` in batches, narrated, a snapshot every SNAPSHOT_EVERY positions. */
      const append = (universeId: string, start: UniverseState, turns: Turn[], from: number) =>
        appendPlayed(stores.turnStore, universeId, start, turns, {
          from,
          snapshotEvery: SNAPSHOT_EVERY,
          batch: 1_000,
          dress: narrated,
        });

      beforeAll(async () => {
        stores = databaseUrl ? await createStores({ databaseUrl }) : await createStores({ inMemory: true });
        await stores.accountStore.createAccount({
          id: importer,
          name: "Importer",
          login: null,
          passwordHash: null,
          createdAt: new Date(),
        });
        const parent = simulateCampaign({ seed: SEED, turns: size.turns, universeId: parentId });
        await stores.turnStore.createUniverse(
          { id: parentId, name: "The Long Tide", createdBy: "gm-1" },
          parent.genesis,
        );
        await append(parentId, parent.genesis, parent.turns, 0);
        // the branch: the same commands' choices, its own dice after the branch point
        const own = seededDice(SEED + 1);
        const shared = seededDice(SEED);
        const branch = simulateCampaign({
          seed: SEED,
          turns: size.branchAt + size.branchTurns,
          universeId: branchId,
          dice: (position) => (position <= size.branchAt ? shared(position) : own(position)),
        });
        await stores.turnStore.branchUniverse({
          id: branchId,
          parentId,
          position: size.branchAt,
          name: "The Long Tide, turned",
          createdBy: "gm-1",
        });
        const atBranch = (await stores.turnStore.stateAt(parentId, size.branchAt)).state;
        let replayed = branch.genesis;
        for (const turn of branch.turns.slice(0, size.branchAt)) replayed = evolve(replayed, turn.deltas);
        // the branch's simulation shares the parent's past exactly
        expect(checksum(replayed)).toBe(checksum(atBranch));
        await append(branchId, atBranch, branch.turns.slice(size.branchAt), size.branchAt);
      }, 180_000);

      afterAll(async () => {
        await stores?.turnStore.close();
      });

      /** Exports a universe to a file, imports it, and compares snapshots and the replay. */
      async function roundTrip(universeId: string, ancestry: "full" | "reference") {
        const file = join(work, `${universeId}-${ancestry}.jsonl`);
        await writeFileStreamed(
          file,
          exportUniverse(stores, universeId, {
            format: "jsonl",
            audience: { kind: "gm" },
            ancestry,
          }),
        );
        const imported = await importJsonl(stores, file, { gm: importer });
        expect(imported.universe.createdBy).toBe(importer);
        expect(imported.gameMaster).toEqual({ playerId: importer, name: "Importer" });
        const before = await stores.turnStore.listSnapshots(universeId);
        const after = await stores.turnStore.listSnapshots(imported.universe.id);
        const pairs = (list: typeof before) => list.map((s) => `${s.position} ${s.checksum}`);
        expect(pairs(after)).toEqual(pairs(before));
        expect(before.length).toBe(Math.floor(imported.universe.headPosition / SNAPSHOT_EVERY) + 1);
        const verified = await verifyTimeline(stores.turnStore, imported.universe.id);
        expect(verified.mismatches).toEqual([]);
        expect(verified).toMatchObject({
          ok: true,
          snapshots: before.length,
          head: imported.universe.headPosition,
        });
        const original = await stores.turnStore.stateAt(universeId, imported.universe.headPosition);
        expect(verified.headChecksum).toBe(original.checksum);
        expect(imported.headChecksum).toBe(original.checksum);
        return imported;
      }

      let importedParent: string | null = null;

      it("the parent: every snapshot's checksum the same after the round trip, its replay agreeing", async () => {
        const turns = await stores.turnStore.turnsBetween(parentId, 0, size.turns);
        // the campaign holds what the round trip must carry
        const kinds = new Set(turns.map((turn) => turn.kind));
        for (const kind of ["action", "world_event", "undo", "retcon", "session_start"])
          expect(kinds, kind).toContain(kind);
        expect(turns.filter((turn) => turn.status === "undone").length).toBeGreaterThan(10);
        expect(turns.filter((turn) => turn.narration !== null).length).toBeGreaterThan(size.turns / 2);
        const imported = await roundTrip(parentId, "full");
        importedParent = imported.universe.id;
        expect(imported.turns).toBe(size.turns);
        // narration and undo marks came through
        const back = await stores.turnStore.turnsBetween(imported.universe.id, 0, size.turns);
        expect(back.map((turn) => [turn.status, turn.narration?.text ?? null])).toEqual(
          turns.map((turn) => [turn.status, turn.narration?.text ?? null]),
        );
        expect((await verifyTimeline(stores.turnStore, parentId)).ok).toBe(true);
      }, 180_000);

      it("the branch, with its past written out and by reference to its parent", async () => {
        const full = await roundTrip(branchId, "full");
        expect(full.universe.parentId).toBeNull();
        expect(full.turns).toBe(size.branchAt + size.branchTurns);
        const reference = await roundTrip(branchId, "reference");
        expect(reference.universe).toMatchObject({ parentId, branchPosition: size.branchAt });
        expect(reference.turns).toBe(size.branchTurns);
      }, 180_000);

      it("one byte changed in a snapshot row: a jump passes over it, opening the universe refuses it", async () => {
        const id = importedParent!;
        const head = await stores.turnStore.headPosition(id);
        const middle = SNAPSHOT_EVERY * 2;
        const newest = Math.floor(head / SNAPSHOT_EVERY) * SNAPSHOT_EVERY;
        // one byte of each stored document, inside a name, so that the row is still valid JSON
        const db = (stores.turnStore as unknown as { db: { execute(query: unknown): Promise<unknown> } }).db;
        for (const position of [middle, newest]) {
          const text = (await stores.turnStore.snapshotTexts(id, [position])).get(position)!;
          const at = text.indexOf('"name":"') + '"name":"'.length;
          const changed = `${text.slice(0, at)}${text[at] === "Q" ? "R" : "Q"}${text.slice(at + 1)}`;
          expect(changed.length).toBe(text.length);
          await db.execute(
            sql`update snapshots set state = ${changed}::json where universe_id = ${id} and position = ${position}`,
          );
        }
        // a jump rebuilds the state from the snapshot before, and says which one it passed over
        const original = await stores.turnStore.stateAt(parentId, middle + 7);
        const jumped = await stores.turnStore.stateAt(id, middle + 7);
        expect(jumped.checksum).toBe(original.checksum);
        expect(jumped.fromSnapshot).toBe(middle - SNAPSHOT_EVERY);
        expect(jumped.damagedSnapshots).toEqual([middle]);
        // opening (hydrating) the universe starts from the newest snapshot, and refuses it
        const live = new MemoryLiveStore();
        const lease = (await live.acquire(id, "process-1", 60_000))!;
        const health = new PersistHealth();
        await expect(
          UniverseAuthority.hydrate({
            universe: (await stores.turnStore.getUniverse(id))!,
            turnStore: stores.turnStore,
            liveStore: live,
            lease,
            durableOnLiveAppend: false,
            newId: () => randomUUID(),
            health,
          }),
        ).rejects.toMatchObject({ code: "damaged_snapshot", universeId: id, position: newest });
        expect(health.read()).toMatchObject({ damagedSnapshots: 1, lastDamagedSnapshot: `${id}@${newest}` });
        // and verifying the timeline finds the first
        const verified = await verifyTimeline(stores.turnStore, id);
        expect(verified.ok).toBe(false);
        expect(verified.mismatches[0]).toMatchObject({ position: middle, kind: "document" });
      }, 180_000);
    },
  );
}
