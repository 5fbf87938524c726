import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invertDeltas } from "@loom/shared";
import { createTurnStore } from "../persist/index.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import { buildUniverse, freshId } from "../persist/testing/build.ts";
import { MemoryLiveStore } from "../live/memory.ts";
import { LiveReads } from "./live-reads.ts";
import { universeAtOnce } from "./live-turn.ts";

describe("a universe's turn and head, the stream and the store read at once", () => {
  let store: TurnStore;
  const live = new MemoryLiveStore();
  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await live.close();
  });

  /** What the reads that take the stream first, then the store, give. */
  const carefully = async (universeId: string, position: number) => {
    const reads = new LiveReads(store, live, true);
    const head = await reads.head(universeId);
    const turn = position === 0 || position > head ? null : await reads.getTurn(universeId, position);
    return { universe: await store.getUniverse(universeId), head, turn };
  };

  /** Ten stored turns, and 11..13 acknowledged in the stream but not stored, 13 undoing the stored 9. */
  const withTail = async () => {
    const built = await buildUniverse(store, { turns: 10, batch: 10 });
    const [eleventh, twelfth, next] = built.campaign.take(3);
    const undo = {
      ...next!,
      kind: "undo" as const,
      input: { targetPosition: 9 },
      deltas: invertDeltas(built.turns[8]!.deltas),
    };
    const lease = (await live.acquire(built.id, "process-a", 60_000))!;
    await live.ensureStream(lease, 10);
    await live.appendTurns(lease, [eleventh!, twelfth!, undo]);
    return { built, lease, tail: [eleventh!, twelfth!, undo] };
  };

  it("gives what the stream-then-store reads give: stored and unstored turns, undo marks, the head", async () => {
    // given a universe with an unstored tail, and a branch of it at 6 whose own stream is empty
    const { built } = await withTail();
    const branch = freshId("branch");
    await store.branchUniverse({
      id: branch,
      parentId: built.id,
      position: 6,
      name: "Aside",
      createdBy: "gm",
    });
    // when every position of each is read at once, then each answer is the careful reads'
    for (const [id, last] of [
      [built.id, 14],
      [branch, 7],
    ] as const)
      for (let position = 0; position <= last; position++)
        expect(await universeAtOnce(store, live, id, position), `${id}@${position}`).toEqual(
          await carefully(id, position),
        );
    // and the stored turn the stream's undo undid reads undone, the stream's own turns are there
    expect(await universeAtOnce(store, live, built.id, 9)).toMatchObject({
      head: 13,
      turn: { position: 9, status: "undone" },
    });
    expect(await universeAtOnce(store, live, built.id, 12)).toMatchObject({
      turn: (await live.readStream(built.id)).turns[1],
    });
  });

  it("says to read carefully when the stream lost turns the store's head, as read, does not cover", async () => {
    // given the tail trimmed (as after a persist) but not in the store as it was read
    const { built, lease, tail } = await withTail();
    await live.trim(built.id, 12);
    // when read at once, then the answer does not guess
    expect(await universeAtOnce(store, live, built.id, 11)).toEqual({
      universe: await store.getUniverse(built.id),
      careful: true,
    });
    // and once the store has them, it answers again, as the careful reads do
    await store.appendTurns(built.id, { expectedHead: 10, turns: tail, undone: [9] });
    await live.trim(built.id, 13);
    for (const position of [9, 11, 13, 14])
      expect(await universeAtOnce(store, live, built.id, position)).toEqual(
        await carefully(built.id, position),
      );
    await live.release(lease);
  });

  it("gives nothing for a universe that does not exist", async () => {
    expect(await universeAtOnce(store, live, freshId("missing"), 1)).toBeNull();
  });
});
