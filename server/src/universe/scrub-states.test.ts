import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, listFacts, upgradeDeltas } from "@loom/shared";
import { summarize } from "../api/scrub.ts";
import { createTurnStore } from "../persist/index.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import { storePlayedUniverse } from "../persist/testing/played.ts";
import { seededRandom } from "../persist/testing/campaign.ts";
import { CHECKPOINT_EVERY, ScrubIndex } from "./scrub-index.ts";
import { ScrubStates } from "./scrub-states.ts";

describe("the scrubber's states", () => {
  let store: TurnStore;
  const id = "scrubbed";
  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
    await storePlayedUniverse(store, { id, createdBy: "gm", turns: 900, seed: 3, snapshotEvery: 100 });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it("walk forward and back from states read before, or read a snapshot, and always give the state the store gives", async () => {
    // given a drag: resting points a few turns apart, key presses, and jumps across the timeline
    const random = seededRandom(11);
    const scrub = new ScrubStates();
    const seen = new Map<number, string>();
    const kinds = new Set<string>();
    let position = 450;
    for (let i = 0; i < 120; i++) {
      const move = i % 10 === 9 ? Math.floor(random() * 901) - position : Math.floor(random() * 61) - 30;
      position = Math.max(0, Math.min(900, position + move));
      // when the scrubber reads the position
      const at = await scrub.stateAt(store, id, position);
      kinds.add(
        at.source.kind === "walk" ? `walk ${at.source.from < position ? "forward" : "back"}` : "snapshot",
      );
      // then it is the state the store rebuilds there, and a walk forward hands back the turn there
      const expected = (await store.stateAt(id, position)).checksum;
      expect(checksum(at.state), `position ${position}`).toBe(expected);
      if (at.turn) expect((await at.turn)?.position).toBe(position);
      const brief = summarize(at.state);
      expect(brief.canonFacts).toBe(listFacts(at.state).length);
      expect(brief.npcs.count).toBe(Object.keys(at.state.world.npcs).length);
      expect(brief.npcs.shown.at(-1)?.name).toBe(Object.values(at.state.world.npcs).at(-1)?.name);
      seen.set(position, expected);
    }
    expect([...kinds].sort()).toEqual(["snapshot", "walk back", "walk forward"]);
    // and the states it kept were never changed by the walks that started from them
    for (const [at, expected] of seen)
      expect(checksum((await scrub.stateAt(store, id, at)).state)).toBe(expected);
  }, 60_000);

  it("jump from checkpoints of an index built in the background, which grows with the universe", async () => {
    // given a universe long enough to be indexed, whose stored head the index first sees at 1,040
    const long = "scrubbed-long";
    await storePlayedUniverse(store, {
      id: long,
      createdBy: "gm",
      turns: 1_300,
      seed: 5,
      snapshotEvery: 100,
    });
    let visible = 1_040;
    const source = {
      headPosition: async (universeId: string) => Math.min(visible, await store.headPosition(universeId)),
      turnTexts: store.turnTexts.bind(store),
      stateWithoutChecksum: store.stateWithoutChecksum.bind(store),
    };
    const index = new ScrubIndex(source);
    const scrub = new ScrubStates(index);
    try {
      // when the scrubber first reads a position, the index starts; once built, jumps walk from it
      const first = await scrub.stateAt(store, long, 700);
      expect(first.source.kind).toBe("snapshot");
      await index.ready(long);
      expect(index.coverage(long)).toEqual({
        checkpoints: 1_040 / CHECKPOINT_EVERY + 1,
        through: 1_040,
        building: false,
      });
      const random = seededRandom(23);
      for (let i = 0; i < 40; i++) {
        const position = Math.floor(random() * 1_040);
        const at = await scrub.stateAt(store, long, position);
        // then each far position is reached from a checkpoint or a state kept, within a spacing
        expect(at.source.kind === "checkpoint" || at.source.kind === "walk", `position ${position}`).toBe(
          true,
        );
        if (at.source.kind !== "snapshot") expect(at.source.turns).toBeLessThan(CHECKPOINT_EVERY);
        // and the index holds each turn's deltas as the store has them
        if (position > 0)
          expect(index.deltasBetween(long, position - 1, position)).toEqual(
            upgradeDeltas((await store.getTurn(long, position))!.deltas),
          );
        expect(checksum(at.state), `position ${position}`).toBe(
          (await store.stateAt(long, position)).checksum,
        );
      }
      // and a jump past the index extends it to the stored head of the moment
      visible = 1_300;
      await scrub.stateAt(store, long, 1_290);
      await index.ready(long);
      expect(index.coverage(long)?.through).toBe(1_300);
      const late = await scrub.stateAt(store, long, 1_261);
      expect(late.source).toEqual({ kind: "checkpoint", from: 1_260, turns: 1 });
      expect(checksum(late.state)).toBe((await store.stateAt(long, 1_261)).checksum);
      // and the turn shown, read while the held deltas apply, is the stored one
      expect(await late.turn).toEqual(await store.getTurn(long, 1_261));
      // and a short universe is never indexed: its snapshots are near enough
      await scrub.stateAt(store, id, 450);
      await index.ready(id);
      expect(index.coverage(id)).toBeNull();
    } finally {
      index.close();
    }
  }, 120_000);

  it("refuses a position past the head like the store", async () => {
    await expect(new ScrubStates().stateAt(store, id, 901)).rejects.toThrow();
  });
});
