import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stores } from "../persist/index.ts";
import { createWorkerStores } from "../persist/worker-store.ts";
import { appendUndo, storePlayedUniverse } from "../persist/testing/played.ts";
import { templateNarration } from "../persist/testing/narration.ts";
import type { TimelineChange } from "../persist/timeline-changes.ts";
import { ScrubIndex } from "./scrub-index.ts";
import { ScrubTurns, TURN_BLOCK, type ScrubTurnSource } from "./scrub-turns.ts";

const narration = templateNarration;

describe("the scrubber's copy of an embedded store's turns", () => {
  let stores: Stores;
  const id = "scrub-turns";
  const head = 1_234;
  beforeAll(async () => {
    stores = await createWorkerStores({ inMemory: true });
    await storePlayedUniverse(stores.turnStore, {
      id,
      createdBy: "gm",
      turns: head,
      seed: 7,
      snapshotEvery: 100,
    });
  }, 120_000);
  afterAll(async () => {
    await stores?.turnStore.close();
  });

  /** The store, its universeAndTurn reads counted: what a scrub costs the store's thread. */
  function counted(): { source: ScrubTurnSource; reads: () => number } {
    const store = stores.turnStore;
    let reads = 0;
    const source: ScrubTurnSource = {
      universeAndTurn: (universeId, position) => {
        reads++;
        return store.universeAndTurn(universeId, position);
      },
      getUniverse: (universeId) => store.getUniverse(universeId),
      turnTexts: (universeId, from, to, options) => store.turnTexts(universeId, from, to, options),
      watchChanges: store.watchChanges!,
    };
    return { source, reads: () => reads };
  }

  it("answers every position as the store does, and after each write what the store then answers", async () => {
    // given the embedded store, which sees every write, and a universe the scrubber indexed
    expect(stores.turnStore.watchChanges).toBeTypeOf("function");
    const { source, reads } = counted();
    const turns = new ScrubTurns(source);
    const index = new ScrubIndex(stores.turnStore, turns);
    try {
      expect(index.briefAt(id, 10)).toBeNull();
      await index.ready(id);
      // the blocks the walk read whole are kept, about a tenth of the turns' text
      const held = turns.held(id)!;
      expect(held.blocks).toBe(Math.floor(head / TURN_BLOCK));
      // when the scrubber reads every position (and one past the head)
      const same = async (position: number) =>
        expect(await turns.universeAndTurn(id, position), `position ${position}`).toEqual(
          await stores.turnStore.universeAndTurn(id, position),
        );
      for (let position = 0; position <= head + 1; position++) await same(position);
      // then the store's thread was asked for the record once and for the last, partial block's turns
      expect(reads()).toBe(1 + (head % TURN_BLOCK));

      // when a narration is recorded on a kept turn, the block is dropped and read again
      const narrated = 417;
      expect(await stores.turnStore.setNarration(id, narrated, narration("The rain stops."))).toBe(true);
      await same(narrated);
      expect((await turns.universeAndTurn(id, narrated))?.turn?.narration?.text).toBe("The rain stops.");
      // and a block far from it is still answered without the store
      const before = reads();
      await same(1_001);
      expect(reads()).toBe(before);

      // when an append moves the head, the record is read again and the new turn is the store's
      await appendUndo(stores.turnStore, id, head, 3);
      await same(head + 1);
      // and once the record is read again in the background, the kept blocks answer without the store
      await expect
        .poll(async () => {
          const asked = reads();
          await turns.universeAndTurn(id, 600);
          return reads() - asked;
        })
        .toBe(0);
      expect((await turns.universeAndTurn(id, 600))?.universe.headPosition).toBe(head + 1);
      // and the undo's target, in a kept block, shows the mark as the store does
      await same(3);
      expect((await turns.universeAndTurn(id, 3))?.turn?.status).toBe("undone");
      // and a reveal of the dice drops every kept turn of the universe
      await stores.turnStore.revealDice(id);
      expect(turns.held(id)!.blocks).toBe(0);
      await same(700);
    } finally {
      index.close();
    }
  }, 120_000);

  it("does not keep a record that a write overlapped, and reads it again once the write settled", async () => {
    // given a copy of the universe's turns, its record not read yet, and record reads whose
    // answers are late: they read the store before a write and arrive after the write settled
    const { source, reads } = counted();
    let gate: Promise<unknown> = Promise.resolve();
    const late: ScrubTurnSource = {
      ...source,
      universeAndTurn: async (universeId, position) => {
        const read = await source.universeAndTurn(universeId, position);
        await gate;
        return read;
      },
      getUniverse: async (universeId) => {
        const read = await source.getUniverse(universeId);
        await gate;
        return read;
      },
    };
    const turns = new ScrubTurns(late);
    const index = new ScrubIndex(stores.turnStore, turns);
    try {
      index.briefAt(id, 10);
      await index.ready(id);
      expect(turns.held(id)!.blocks).toBeGreaterThan(0);
      // when the visibility changes while the record is being read
      const before = (await stores.turnStore.getUniverse(id))!.visibility;
      const changed = before === "public" ? "private" : "public";
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      const reading = turns.universeAndTurn(id, 222);
      await expect.poll(reads).toBe(1);
      await stores.memberships.setVisibility(id, changed);
      open();
      expect((await reading)?.universe.visibility).toBe(before);
      // then neither late answer is kept: the next scrub sees the change
      expect((await turns.universeAndTurn(id, 222))?.universe.visibility).toBe(changed);
      // and once the record is read again, scrubs are answered without the store
      await expect
        .poll(async () => {
          const asked = reads();
          await turns.universeAndTurn(id, 223);
          return reads() - asked;
        })
        .toBe(0);
      expect((await turns.universeAndTurn(id, 224))?.universe.visibility).toBe(changed);
    } finally {
      index.close();
    }
  }, 120_000);

  it("tells each write's change before it is sent and once it settled", async () => {
    const changes: TimelineChange[] = [];
    const stop = stores.turnStore.watchChanges!((change) => changes.push(change));
    try {
      await stores.turnStore.setNarrations([{ universeId: id, position: 5, narration: narration("Dawn.") }]);
      await stores.memberships.setVisibility(id, "private");
      await stores.turnStore.getUniverse(id);
      await expect(stores.turnStore.appendTurns(id, { expectedHead: 0, turns: [] })).rejects.toThrow();
    } finally {
      stop();
    }
    expect(changes).toEqual([
      { records: [], turns: [{ universeId: id, position: 5 }] },
      { records: [], turns: [{ universeId: id, position: 5 }] },
      { records: "all", turns: [] },
      { records: "all", turns: [] },
      { records: [], heads: [id], turns: [] },
      { records: [], heads: [id], turns: [] },
    ]);
  });
});
