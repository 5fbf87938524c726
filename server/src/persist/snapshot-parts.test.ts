import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksum, type UniverseState } from "@loom/shared";
import { playCampaign } from "@loom/shared/testing";
import { DrizzleTurnStore } from "./drizzle-turn-store.ts";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { storePlayedUniverse } from "./testing/played.ts";
import { ChecksumMismatchError } from "./turn-store.ts";

const SEED = 4;
const TURNS = 400;

/** The played campaign's states at every snapshot position, from the rules alone. */
function playedStates(id: string): Map<number, UniverseState> {
  const played = playCampaign({ seed: SEED, turns: TURNS, universeId: id });
  const states = new Map<number, UniverseState>([[0, played.genesis]]);
  for (const step of played.steps) states.set(step.turn.position, step.state);
  return states;
}

const drivers: Array<[string, () => Promise<OpenDatabase>]> = [
  ["pglite", () => openDatabase({ inMemory: true })],
];
if (process.env.DATABASE_URL)
  drivers.push(["postgres", () => openDatabase({ databaseUrl: process.env.DATABASE_URL })]);

describe.each(drivers)("snapshots stored by part (%s)", (_driver, open) => {
  interface Played {
    database: OpenDatabase;
    store: DrizzleTurnStore;
    id: string;
    /** The rules' states at every position. */
    states: Map<number, UniverseState>;
  }

  /** Runs `test` on a campaign played by the rules and stored (a snapshot every 100 turns), removed after. */
  async function withPlayed(test: (played: Played) => Promise<void>): Promise<void> {
    const database = await open();
    const store = new DrizzleTurnStore(database.driver, database.db, () => database.close());
    const id = `parts-${randomUUID()}`;
    try {
      // every bucket a part, however short: this campaign's are (the server's start at MIN_PART_CHARS)
      await storePlayedUniverse(store, {
        id,
        createdBy: "gm",
        turns: TURNS,
        seed: SEED,
        snapshotEvery: 100,
        minPart: 0,
      });
      await test({ database, store, id, states: playedStates(id) });
    } finally {
      for (const table of ["turns", "turn_search", "search_progress", "snapshots", "snapshot_parts"])
        await database.query(`delete from ${table} where universe_id = '${id}'`);
      await database.query(`delete from universes where id = '${id}'`);
      await store.close();
    }
  }

  it("stores each part once per universe and reads every state back as the rules played it", async () => {
    // given a campaign played by the rules, a snapshot every 100 turns
    await withPlayed(async ({ database, store, id, states }) => {
      // then each snapshot names its parts, and the ones the snapshots share are stored once
      const [named] = await database.query<{ parts: string | number; snapshots: string | number }>(
        `select sum(cardinality(parts)) as parts, count(*) as snapshots from snapshots where universe_id = '${id}' and state is null`,
      );
      const [stored] = await database.query<{ rows: string | number }>(
        `select count(*) as rows from snapshot_parts where universe_id = '${id}'`,
      );
      // (the genesis, written with the universe, is stored whole)
      expect(Number(named!.snapshots)).toBe(4);
      expect(Number(stored!.rows)).toBeGreaterThan(0);
      expect(Number(stored!.rows)).toBeLessThan(Number(named!.parts) / 2);
      // and a jump, the newest state and an export's documents are the rules' states
      for (const position of [0, 100, 250, 400])
        expect((await store.stateAt(id, position)).checksum).toBe(checksum(states.get(position)));
      expect((await store.latestState(id, { recheck: true })).checksum).toBe(checksum(states.get(TURNS)));
      const texts = await store.snapshotTexts(id, [100, 300]);
      expect(texts.get(100)).toBe(canonicalJson(states.get(100)));
      expect(texts.get(300)).toBe(canonicalJson(states.get(300)));
      await store.verifySnapshot(id, 200);
    });
  }, 60_000);

  it("reads a part once per process: a later jump takes the parts it read before from memory", async () => {
    // given a jump that read the snapshot at 200 and its parts
    await withPlayed(async ({ database, store, id, states }) => {
      const other = new DrizzleTurnStore(database.driver, database.db, async () => {});
      expect((await store.stateAt(id, 250)).checksum).toBe(checksum(states.get(250)));
      // when every part of the universe is then lost
      await database.query(`delete from snapshot_parts where universe_id = '${id}'`);
      // then the next jump from that snapshot still has them
      expect(await store.stateAt(id, 260)).toMatchObject({
        checksum: checksum(states.get(260)),
        fromSnapshot: 200,
      });
      expect((await store.stateAt(id, 260)).damagedSnapshots).toBeUndefined();
      // and a process that never read them finds every snapshot with parts damaged
      const elsewhere = await other.stateAt(id, 260);
      expect(elsewhere.checksum).toBe(checksum(states.get(260)));
      expect(elsewhere.damagedSnapshots).toEqual([200, 100]);
    });
  }, 60_000);

  it("shares the parts it parsed between the states it reads, and changes none of them", async () => {
    // given states read from two snapshots a hundred turns apart
    await withPlayed(async ({ store, id, states }) => {
      const at250 = await store.stateAt(id, 250);
      const at350 = await store.stateAt(id, 350);
      // then the buckets neither the snapshots nor the turns since changed are one object, frozen
      const shared = Object.keys(at250.state.canon.factBuckets).filter(
        (key) => at250.state.canon.factBuckets[key] === at350.state.canon.factBuckets[key],
      );
      expect(shared.length).toBeGreaterThan(0);
      for (const key of shared) expect(Object.isFrozen(at350.state.canon.factBuckets[key])).toBe(true);
      // and opening the universe, which applies the turns after its snapshot, leaves them as they were
      const opened = await store.latestState(id, { recheck: true });
      expect(opened.checksum).toBe(checksum(states.get(TURNS)));
      expect(checksum(at250.state)).toBe(checksum(states.get(250)));
      expect(checksum(at350.state)).toBe(checksum(states.get(350)));
      expect((await store.stateAt(id, 260)).checksum).toBe(checksum(states.get(260)));
    });
  }, 60_000);

  it("takes a snapshot one of whose parts is missing for a damaged one", async () => {
    // given a part that the snapshot at 200 holds and the one at 100 does not
    await withPlayed(async ({ database, store, id, states }) => {
      const [gone] = await database.query<{ digest: string }>(
        `select digest::text as digest from snapshots s, unnest(s.parts) as digest
         where s.universe_id = '${id}' and s.position = 200
           and digest <> all ((select parts from snapshots where universe_id = '${id}' and position = 100)::uuid[])
         limit 1`,
      );
      expect(gone).toBeDefined();
      await database.query(
        `delete from snapshot_parts where universe_id = '${id}' and digest = '${gone!.digest}'`,
      );
      // then a jump past it is rebuilt from the snapshot before, and says so
      const at = await store.stateAt(id, 250);
      expect(at.checksum).toBe(checksum(states.get(250)));
      expect(at).toMatchObject({ fromSnapshot: 100, replayed: 150, damagedSnapshots: [200] });
      await expect(store.verifySnapshot(id, 200)).rejects.toBeInstanceOf(ChecksumMismatchError);
      // and an export's documents leave out every snapshot holding that part
      const holding = await database.query<{ position: number }>(
        `select position from snapshots where universe_id = '${id}' and '${gone!.digest}' = any(parts)`,
      );
      const damaged = new Set(holding.map((row) => Number(row.position)));
      expect(damaged.has(200)).toBe(true);
      const texts = await store.snapshotTexts(id, [100, 200, 300, 400]);
      expect([...texts.keys()]).toEqual([100, 300, 400].filter((position) => !damaged.has(position)));
      for (const [position, text] of texts) expect(text).toBe(canonicalJson(states.get(position)));
    });
  }, 60_000);
});
