import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyDeltasInPlace,
  checksum,
  listFacts,
  listNpcs,
  upgradeDeltas,
  type UniverseState,
} from "@loom/shared";
import { createTurnStore } from "../persist/index.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import { storePlayedUniverse } from "../persist/testing/played.ts";
import { seededRandom } from "../persist/testing/campaign.ts";
import { ScrubIndex } from "./scrub-index.ts";
import { ScrubStates } from "./scrub-states.ts";
import { summarize } from "./scrub-summary.ts";

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
      // then it is the state the store rebuilds there
      const expected = (await store.stateAt(id, position)).checksum;
      expect(checksum(at.state), `position ${position}`).toBe(expected);
      const brief = summarize(at.state);
      expect(brief.canonFacts).toBe(listFacts(at.state).length);
      expect(brief.npcs.count).toBe(listNpcs(at.state).length);
      expect(brief.npcs.shown.at(-1)?.name).toBe(listNpcs(at.state).at(-1)?.name);
      seen.set(position, expected);
    }
    expect([...kinds].sort()).toEqual(["snapshot", "walk back", "walk forward"]);
    // and the states it kept were never changed by the walks that started from them
    for (const [at, expected] of seen)
      expect(checksum((await scrub.stateAt(store, id, at)).state)).toBe(expected);
    // and once forgotten (the universe's index answers), none is kept to walk from
    scrub.forget(id);
    expect((await scrub.stateAt(store, id, [...seen.keys()][0]!)).source.kind).toBe("snapshot");
  }, 60_000);

  it("answer every position of a long universe from an index built in the background, which grows with the universe", async () => {
    // given a universe long enough to be indexed (played with undos and retcons), whose stored
    // head the index first sees at 1,040
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
    try {
      // when the scrubber first asks, the index starts and the caller reads the state another way
      expect(index.briefAt(long, 700)).toBeNull();
      await index.ready(long);
      expect(index.coverage(long)).toEqual({ through: 1_040, building: false });
      // then every position it covers is told as the state walked there from the start is
      const briefs = await walkedBriefs(store, long, 1_300);
      for (let position = 0; position <= 1_040; position++)
        expect(JSON.stringify(index.briefAt(long, position)), `position ${position}`).toBe(briefs[position]);
      // and a position past it extends it to the stored head of the moment
      visible = 1_300;
      expect(index.briefAt(long, 1_290)).toBeNull();
      await index.ready(long);
      expect(index.coverage(long)?.through).toBe(1_300);
      for (let position = 1_000; position <= 1_300; position++)
        expect(JSON.stringify(index.briefAt(long, position)), `position ${position}`).toBe(briefs[position]);
      // and a short universe is never indexed: its snapshots are near enough
      expect(index.briefAt(id, 450)).toBeNull();
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

/**
 * The brief at every position up to `to` as JSON (members in order), as `summarize` tells the state walked there from the
 * start (the order a record lists its entries in is the order they were added in that walk).
 */
async function walkedBriefs(store: TurnStore, id: string, to: number) {
  const state: UniverseState = structuredClone((await store.stateWithoutChecksum(id, 0)).state);
  const briefs = [JSON.stringify(summarize(structuredClone(state)))];
  for (const turn of await store.turnsBetween(id, 0, to)) {
    applyDeltasInPlace(state, upgradeDeltas(turn.deltas));
    // a copy a position: summarize remembers briefs by container
    briefs.push(JSON.stringify(summarize(structuredClone(state))));
  }
  return briefs;
}
