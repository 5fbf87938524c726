import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FencedError, TurnOrderError, type LiveStore } from "./live-store.ts";
import { sampleState, sampleTurn, sampleTurns } from "./fixtures.ts";

/**
 * The rules every LiveStore adapter obeys, numbered so a failure names the rule it broke.
 * Each adapter's test file calls `describeLiveStoreContract` with a factory for its harness.
 */

export interface LiveStoreHarness {
  store: LiveStore;
  /** Another store on its own connection, as a second process would have one (memory: the same). */
  peer: LiveStore;
  /** Lets lock time pass: real time for Redis, the injected clock for memory. */
  passTime(ms: number): Promise<void>;
  close(): Promise<void>;
}

const HOLD = 10_000;
const SHORT = 150;

export function describeLiveStoreContract(name: string, factory: () => Promise<LiveStoreHarness>): void {
  describe(`LiveStore contract: ${name}`, () => {
    let harness: LiveStoreHarness;
    let store: LiveStore;
    let peer: LiveStore;
    const used: string[] = [];

    beforeAll(async () => {
      harness = await factory();
      ({ store, peer } = harness);
    });
    afterEach(async () => {
      await Promise.all(used.splice(0).map((id) => store.drop(id)));
    });
    afterAll(async () => {
      await harness?.close();
    });

    function universe(): string {
      const id = `contract-${randomUUID()}`;
      used.push(id);
      return id;
    }

    it("rule 1: acquire on a free universe returns a lease and owner() reports it", async () => {
      const id = universe();
      const lease = await store.acquire(id, "process-a", HOLD);
      expect(lease).not.toBeNull();
      expect(lease).toMatchObject({ universeId: id, owner: "process-a" });
      expect(Number.isSafeInteger(lease!.token) && lease!.token > 0).toBe(true);
      expect(await store.owner(id)).toEqual({ owner: "process-a", token: lease!.token });
    });

    it("rule 2: acquire by the owner already holding the lock returns the same lease", async () => {
      const id = universe();
      const first = await store.acquire(id, "process-a", HOLD);
      const again = await store.acquire(id, "process-a", HOLD);
      expect(again).toEqual(first);
    });

    it("rule 3: a second owner cannot acquire while the lock is held", async () => {
      const id = universe();
      const lease = await store.acquire(id, "process-a", HOLD);
      expect(await peer.acquire(id, "process-b", HOLD)).toBeNull();
      expect(await peer.owner(id)).toEqual({ owner: "process-a", token: lease!.token });
    });

    it("rule 4: of many owners racing for a free universe, exactly one acquires", async () => {
      const id = universe();
      const leases = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : peer).acquire(id, `process-${i}`, HOLD)),
      );
      expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
    });

    it("rule 5: renew keeps the lock past its first TTL", async () => {
      // given a lease with a 300 ms TTL
      const id = universe();
      const lease = (await store.acquire(id, "process-a", 300))!;
      // when it is renewed at 200 ms and 200 ms more pass (past the first expiry)
      await harness.passTime(200);
      expect(await store.renew(lease, 300)).toBe(true);
      await harness.passTime(200);
      // then it is still held
      expect(await peer.acquire(id, "process-b", HOLD)).toBeNull();
      expect(await store.owner(id)).toEqual({ owner: "process-a", token: lease.token });
    });

    it("rule 6: release frees the lock; the next owner gets a larger token", async () => {
      const id = universe();
      const first = (await store.acquire(id, "process-a", HOLD))!;
      await store.release(first);
      expect(await store.owner(id)).toBeNull();
      const second = (await peer.acquire(id, "process-b", HOLD))!;
      expect(second.token).toBeGreaterThan(first.token);
    });

    it("rule 7: after expiry a second owner acquires with a larger token and the first is fenced", async () => {
      // given owner A's lease expired and owner B took the universe
      const id = universe();
      const a = (await store.acquire(id, "process-a", SHORT))!;
      await store.appendTurns(a, [sampleTurn(id, 1)]);
      await store.putState(a, 1, sampleState("A's scene"));
      await harness.passTime(SHORT + 50);
      const b = (await peer.acquire(id, "process-b", HOLD))!;
      expect(b.token).toBeGreaterThan(a.token);
      // when A keeps writing, then every write is refused
      await expect(store.appendTurns(a, [sampleTurn(id, 2)])).rejects.toBeInstanceOf(FencedError);
      await expect(store.putState(a, 2, sampleState("stale"))).rejects.toBeInstanceOf(FencedError);
      expect(await store.renew(a, HOLD)).toBe(false);
      await store.release(a);
      // and nothing A tried is stored, while B still holds the lock
      expect(await peer.readTail(id, 0)).toEqual([sampleTurn(id, 1)]);
      expect(await peer.getState(id)).toEqual({ position: 1, state: sampleState("A's scene") });
      expect(await peer.owner(id)).toEqual({ owner: "process-b", token: b.token });
    });

    it("rule 8: an expired lease nobody took can neither renew nor write", async () => {
      const id = universe();
      const a = (await store.acquire(id, "process-a", SHORT))!;
      await harness.passTime(SHORT + 50);
      expect(await store.owner(id)).toBeNull();
      expect(await store.renew(a, HOLD)).toBe(false);
      await expect(store.appendTurns(a, [sampleTurn(id, 1)])).rejects.toBeInstanceOf(FencedError);
      await expect(store.putState(a, 1, sampleState("late"))).rejects.toBeInstanceOf(FencedError);
      expect(await store.readTail(id, 0)).toEqual([]);
      expect(await store.getState(id)).toBeNull();
    });

    it("rule 9: appended turns read back deep-equal, in order; readTail(after) filters", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.appendTurns(lease, sampleTurns(id, 1, 3));
      await store.appendTurns(lease, sampleTurns(id, 4, 2));
      expect(await peer.readTail(id, 0)).toEqual(sampleTurns(id, 1, 5));
      expect(await peer.readTail(id, 3)).toEqual(sampleTurns(id, 4, 2));
      expect(await peer.readTail(id, 5)).toEqual([]);
      expect(await peer.readTail(universe(), 0)).toEqual([]);
    });

    it("rule 10: a duplicate, out-of-order or foreign turn is rejected and nothing is written", async () => {
      // given turns 1..3 in the stream
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.appendTurns(lease, sampleTurns(id, 1, 3));
      // when a batch repeats position 3, goes back to 2, is not ascending, or is another universe's
      await expect(store.appendTurns(lease, sampleTurns(id, 3, 2))).rejects.toBeInstanceOf(TurnOrderError);
      await expect(store.appendTurns(lease, [sampleTurn(id, 2)])).rejects.toBeInstanceOf(TurnOrderError);
      const unordered = [sampleTurn(id, 5), sampleTurn(id, 4)];
      await expect(store.appendTurns(lease, unordered)).rejects.toBeInstanceOf(TurnOrderError);
      await expect(store.appendTurns(lease, [sampleTurn(`${id}-other`, 4)])).rejects.toBeInstanceOf(
        RangeError,
      );
      // then the stream still holds exactly turns 1..3
      expect(await store.readTail(id, 0)).toEqual(sampleTurns(id, 1, 3));
    });

    it("rule 11: trim drops entries through a position; trimmed positions stay taken", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.appendTurns(lease, sampleTurns(id, 1, 5));
      await store.trim(id, 3);
      expect(await store.readTail(id, 0)).toEqual(sampleTurns(id, 4, 2));
      await store.trim(id, 5);
      expect(await store.readTail(id, 0)).toEqual([]);
      await expect(store.appendTurns(lease, [sampleTurn(id, 5)])).rejects.toBeInstanceOf(TurnOrderError);
      await store.appendTurns(lease, [sampleTurn(id, 6)]);
      expect(await store.readTail(id, 0)).toEqual([sampleTurn(id, 6)]);
    });

    it("rule 12: of two leases appending concurrently, only the current one succeeds", async () => {
      // given A's lease expired and B holds the universe
      const id = universe();
      const a = (await store.acquire(id, "process-a", SHORT))!;
      await harness.passTime(SHORT + 50);
      const b = (await peer.acquire(id, "process-b", HOLD))!;
      // when both append positions 1..3 at once
      const [fromA, fromB] = await Promise.allSettled([
        store.appendTurns(a, sampleTurns(id, 1, 3)),
        peer.appendTurns(
          b,
          sampleTurns(id, 1, 3).map((turn) => ({ ...turn, id: `b-${turn.position}` })),
        ),
      ]);
      // then only B's turns are in the stream
      expect(fromA.status === "rejected" && fromA.reason instanceof FencedError).toBe(true);
      expect(fromB.status).toBe("fulfilled");
      expect((await store.readTail(id, 0)).map((turn) => turn.id)).toEqual(["b-1", "b-2", "b-3"]);
    });

    it("rule 13: a batch of 1,000 turns is appended in one call and reads back whole", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      const batch = sampleTurns(id, 1, 1000);
      await store.appendTurns(lease, batch);
      const tail = await peer.readTail(id, 0);
      expect(tail).toHaveLength(1000);
      expect(tail).toEqual(batch);
    });

    it("rule 14: state round-trips with its position; the latest write wins", async () => {
      const id = universe();
      expect(await store.getState(id)).toBeNull();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.putState(lease, 7, sampleState("at seven"));
      await store.putState(lease, 8, sampleState("at eight"));
      expect(await peer.getState(id)).toEqual({ position: 8, state: sampleState("at eight") });
    });

    it("rule 15: stored values are copies; callers mutating theirs change nothing stored", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      const turn = sampleTurn(id, 1);
      const state = sampleState("original");
      await store.appendTurns(lease, [turn]);
      await store.putState(lease, 1, state);
      turn.input.text = "changed after append";
      state.scene.summary = "changed after put";
      (await store.readTail(id, 0))[0]!.events.length = 0;
      (await store.getState(id))!.state.scene.summary = "changed after get";
      expect(await store.readTail(id, 0)).toEqual([sampleTurn(id, 1)]);
      expect(await store.getState(id)).toEqual({ position: 1, state: sampleState("original") });
    });

    it("rule 16: drop removes the stream, the state and the lock", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.appendTurns(lease, sampleTurns(id, 1, 2));
      await store.putState(lease, 2, sampleState("gone soon"));
      await store.drop(id);
      expect(await store.readTail(id, 0)).toEqual([]);
      expect(await store.getState(id)).toBeNull();
      expect(await store.owner(id)).toBeNull();
      await expect(store.appendTurns(lease, [sampleTurn(id, 3)])).rejects.toBeInstanceOf(FencedError);
    });

    it("rule 17: a new token is above the floor its caller gives (a lost counter never repeats one)", async () => {
      const id = universe();
      const first = (await store.acquire(id, "process-a", HOLD))!;
      await store.release(first);
      const second = (await store.acquire(id, "process-b", HOLD, first.token + 40))!;
      expect(second.token).toBeGreaterThan(first.token + 40);
      await store.release(second);
      const third = (await store.acquire(id, "process-a", HOLD, 1))!;
      expect(third.token).toBeGreaterThan(second.token);
    });

    it("rule 18: ensureStream makes a stream that continues after the position; an existing one stays", async () => {
      const id = universe();
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.ensureStream(lease, 7);
      expect(await store.streamExists(id)).toBe(true);
      await expect(store.appendTurns(lease, [sampleTurn(id, 7)])).rejects.toBeInstanceOf(TurnOrderError);
      await store.appendTurns(lease, sampleTurns(id, 8, 2));
      await store.ensureStream(lease, 0);
      expect((await store.readTail(id, 0)).map((turn) => turn.position)).toEqual([8, 9]);
      const other = await peer.acquire(id, "process-b", HOLD);
      expect(other).toBeNull();
      await expect(store.ensureStream({ ...lease, token: lease.token + 1 }, 0)).rejects.toBeInstanceOf(
        FencedError,
      );
    });

    it("rule 19: readStream gives the stream's turns and the last position it took, trimmed ones included", async () => {
      // given no stream, then turns 1..5 appended and 1..3 trimmed, then all of them
      const id = universe();
      expect(await store.readStream(id)).toEqual({ turns: [], last: 0 });
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.appendTurns(lease, sampleTurns(id, 1, 5));
      expect(await store.readStream(id)).toEqual({ turns: sampleTurns(id, 1, 5), last: 5 });
      await store.trim(id, 3);
      expect(await store.readStream(id)).toEqual({ turns: sampleTurns(id, 4, 2), last: 5 });
      await store.trim(id, 5);
      // then the emptied stream still says how far it went
      expect(await store.readStream(id)).toEqual({ turns: [], last: 5 });
      // and an id no universe can have (a request's path) holds no stream, in every store
      expect(await store.readStream(`{${id}}`)).toEqual({ turns: [], last: 0 });
    });

    it("rule 20: streamHead is the newest turn the stream holds, 0 once it holds none", async () => {
      const id = universe();
      expect(await peer.streamHead(id)).toBe(0);
      const lease = (await store.acquire(id, "process-a", HOLD))!;
      await store.ensureStream(lease, 10);
      expect(await peer.streamHead(id)).toBe(0);
      await store.appendTurns(lease, sampleTurns(id, 11, 3));
      expect(await peer.streamHead(id)).toBe(13);
      await store.trim(id, 12);
      expect(await peer.streamHead(id)).toBe(13);
      await store.trim(id, 13);
      expect(await peer.streamHead(id)).toBe(0);
    });
  });
}
