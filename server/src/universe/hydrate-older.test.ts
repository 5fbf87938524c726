import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, factPath, npcPath, readFact, readNpc, type UniverseState } from "@loom/shared";
import { createTurnStore, type TurnStore } from "../persist/index.ts";
import { OLDER_VERSIONS } from "../persist/testing/fixture.ts";
import { MemoryLiveStore } from "../live/memory.ts";
import { UniverseAuthority } from "./authority.ts";

/**
 * A universe whose last turns were acknowledged by a process of an older state version that died
 * before persisting them: the next owner, on the current version, replays that live tail.
 */
describe.each(OLDER_VERSIONS)(
  "universe authority: a live tail written by state version $version",
  (older) => {
    const fixture = older.read();
    const { downcast } = older;
    let store: TurnStore;
    beforeAll(async () => {
      store = await createTurnStore({ inMemory: true });
    });
    afterAll(async () => {
      await store.close();
    });

    it("hydrates through it, persists it, and undoes one of its turns", async () => {
      // given turns 1..150 and their snapshots in the TurnStore, 151..160 only in the live store
      const id = `hydrate-v${older.version}`;
      const turns = fixture.universe.turns.map((turn) => ({
        ...turn,
        universeId: id,
        status: "applied" as const,
      }));
      const universe = await store.createUniverse(
        { id, name: `v${older.version} tail`, createdBy: "gm-1" },
        fixture.universe.snapshots[0]!.state as unknown as UniverseState,
      );
      await store.appendTurns(id, {
        expectedHead: 0,
        turns: turns.slice(0, 150),
        snapshots: fixture.universe.snapshots
          .filter((snapshot) => snapshot.position > 0 && snapshot.position <= 150)
          .map((snapshot) => ({
            ...snapshot,
            universeId: id,
            createdAt: turns[snapshot.position - 1]!.createdAt,
          })),
        undone: turns
          .slice(0, 150)
          .filter((turn) => turn.kind === "undo")
          .map((turn) => turn.input.targetPosition as number),
      });
      const live = new MemoryLiveStore();
      const lease = (await live.acquire(id, "process-2", 60_000))!;
      await live.appendTurns(lease, turns.slice(150));

      // when the universe is opened
      const authority = await UniverseAuthority.hydrate({
        universe,
        turnStore: store,
        liveStore: live,
        lease,
        durableOnLiveAppend: true,
        newId: () => `${id}-turn`,
      });

      // then its state is the current version of what the older version had at 160
      expect(authority.head).toBe(160);
      expect(checksum(downcast(authority.state))).toBe(fixture.universe.checksums[160]);

      // and a game master can undo turn 158 of that tail (it set an attitude and its relationship fact)
      const undo = await authority.submit({
        actor: { kind: "gm", playerId: "gm-1" },
        command: { kind: "undo", targetPosition: 158 },
      });
      expect(undo.ok).toBe(true);
      if (!undo.ok) return;
      expect(undo.turn.deltas.map((delta) => delta.path)).toEqual(
        expect.arrayContaining([factPath("relationship-veyra-mara"), npcPath("veyra", "attitudes", "mara")]),
      );
      await authority.flush();
      expect(await store.headPosition(id)).toBe(161);
      // and the tail was persisted, and reads back in the current layout
      expect((await store.getTurn(id, 158))?.deltas.map((delta) => delta.path)).toContain(
        factPath("relationship-veyra-mara"),
      );
      expect(checksum(downcast((await store.stateAt(id, 160)).state))).toBe(fixture.universe.checksums[160]);
      expect((await store.stateAt(id, 161)).checksum).toBe(checksum(authority.state));
      const before = (await store.stateAt(id, 157)).state;
      expect(readFact(authority.state, "relationship-veyra-mara")).toEqual(
        readFact(before, "relationship-veyra-mara"),
      );
      expect(readNpc(authority.state, "veyra")?.attitudes).toEqual(readNpc(before, "veyra")?.attitudes);
      expect(await authority.drain(5_000)).toBe(true);
    });
  },
);
