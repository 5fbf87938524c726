import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emptyState, checksum, type Turn } from "@loom/shared";
import { createTurnStore, type TurnStore } from "../persist/index.ts";
import { MemoryLiveStore } from "../live/memory.ts";
import { MAX_WRITE_TURNS, Persister } from "./persister.ts";
import { GroupCommit } from "./group-commit.ts";
import { AppendConflictError } from "../persist/turn-store.ts";

/** A real PGlite store whose appends fail on demand: the database going away under load. */
function flaky(store: TurnStore) {
  const control = { failuresLeft: 0, attempts: 0, groups: [] as number[], failing: null as string | null };
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      if (key === "appendTurns" || key === "appendMany") {
        return async (...args: unknown[]) => {
          control.attempts++;
          if (control.failuresLeft > 0) {
            control.failuresLeft--;
            throw new Error("connection reset by peer");
          }
          if (key === "appendMany") control.groups.push((args[0] as unknown[]).length);
          if (key === "appendMany" && control.failing !== null) {
            const message = control.failing;
            return (args[0] as unknown[]).map(() => ({ ok: false, conflict: null, message }));
          }
          return (target[key] as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { store: wrapped, control };
}

function turn(universeId: string, position: number): Turn {
  return {
    universeId,
    position,
    id: `${universeId}-${position}`,
    runId: null,
    characterId: null,
    playerId: null,
    actor: "gm",
    kind: "world_event",
    input: { kind: "world_event", text: `The tide rises (${position})` },
    resolution: null,
    events: [
      {
        type: "world_event",
        description: `The tide rises (${position})`,
        major: true,
        hidden: false,
        data: {},
      },
    ],
    deltas: [
      {
        op: "set",
        path: "/world/flags/tide",
        value: position,
        prev: position === 1 ? undefined : position - 1,
      },
    ],
    status: "applied",
    narration: null,
    createdAt: new Date(0).toISOString(),
  };
}

describe("persister", () => {
  let store: TurnStore;
  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
  });
  afterAll(async () => {
    await store.close();
  });

  it("keeps pending turns through failed writes, retries with backoff, and loses nothing", async () => {
    // given a universe and a store that fails its next two appends
    const universe = await store.createUniverse(
      { id: "persister-retry", name: "Tides", createdBy: "gm" },
      emptyState("Tides"),
    );
    const { store: faulty, control } = flaky(store);
    const live = new MemoryLiveStore();
    const lease = (await live.acquire(universe.id, "p1", 10_000))!;
    const persisted: number[] = [];
    const persister = new Persister({
      universeId: universe.id,
      writer: faulty,
      liveStore: live,
      persistedThrough: 0,
      sinceSnapshot: { turns: 0, deltas: 0 },
      onPersisted: (through) => persisted.push(through),
      onFenced: () => {
        throw new Error("not expected");
      },
    });
    const turns = [1, 2, 3].map((p) => turn(universe.id, p));
    await live.appendTurns(lease, turns);
    persister.enqueue(turns, []);
    control.failuresLeft = 2;

    // when it flushes through the failures (the clock held still until the drain, so that the
    // second flush is inside the backoff window however slow the machine is)
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await persister.flush();
      expect(persister.pendingCount).toBe(3);
      expect(persister.persistedThrough).toBe(0);
      expect(await store.headPosition(universe.id)).toBe(0);
      await persister.flush(); // inside the backoff window: no attempt
      expect(control.attempts).toBe(1);
    } finally {
      vi.useRealTimers();
    }
    expect(await persister.drain(5_000)).toBe(true);

    // then every turn is stored once, in order, and the write-ahead stream is trimmed
    expect(control.attempts).toBe(3);
    expect(persister.pendingCount).toBe(0);
    expect(persisted).toEqual([3]);
    const page = await store.timeline(universe.id, { order: "asc" });
    expect(page.turns.map((t) => t.id)).toEqual(turns.map((t) => t.id));
    expect(await live.readTail(universe.id, 0)).toEqual([]);
    const state = await store.latestState(universe.id);
    expect(state.state.world.flags.tide).toBe(3);
    expect(state.checksum).toBe(checksum(state.state));
  });

  it("writes a backlog after an outage in bounded writes, one after another, in order", async () => {
    const universe = await store.createUniverse(
      { id: "persister-backlog", name: "Tides", createdBy: "gm" },
      emptyState("Tides"),
    );
    const { store: faulty, control } = flaky(store);
    const sizes: number[] = [];
    const writer: Pick<TurnStore, "appendTurns"> = {
      appendTurns: (universeId, batch) => {
        sizes.push(batch.turns.length);
        return faulty.appendTurns(universeId, batch);
      },
    };
    const persisted: number[] = [];
    const persister = new Persister({
      universeId: universe.id,
      writer,
      liveStore: new MemoryLiveStore(),
      persistedThrough: 0,
      sinceSnapshot: { turns: 0, deltas: 0 },
      onPersisted: (through) => persisted.push(through),
      onFenced: () => {
        throw new Error("not expected");
      },
    });
    const backlog = MAX_WRITE_TURNS * 2 + 500;
    persister.enqueue(
      Array.from({ length: backlog }, (_, i) => turn(universe.id, i + 1)),
      [],
    );
    control.failuresLeft = 3; // the database is out for three attempts
    expect(await persister.drain(30_000)).toBe(true);
    // every attempt, the failed ones too, carried at most one write's worth
    expect(Math.max(...sizes)).toBe(MAX_WRITE_TURNS);
    expect(sizes.slice(-3)).toEqual([MAX_WRITE_TURNS, MAX_WRITE_TURNS, 500]);
    expect(persisted).toEqual([MAX_WRITE_TURNS, MAX_WRITE_TURNS * 2, backlog]);
    expect(await store.headPosition(universe.id)).toBe(backlog);
  });

  it("starts the next write as soon as the one in flight ends when a flush came meanwhile", async () => {
    const universe = await store.createUniverse(
      { id: "persister-back-to-back", name: "Tides", createdBy: "gm" },
      emptyState("Tides"),
    );
    // the real store behind a gate that holds the first write until released
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: number[][] = [];
    const writer: Pick<TurnStore, "appendTurns"> = {
      appendTurns: async (universeId, batch) => {
        written.push(batch.turns.map((t) => t.position));
        if (written.length === 1) await gate;
        return store.appendTurns(universeId, batch);
      },
    };
    const persisted: number[] = [];
    const persister = new Persister({
      universeId: universe.id,
      writer,
      liveStore: new MemoryLiveStore(),
      persistedThrough: 0,
      sinceSnapshot: { turns: 0, deltas: 0 },
      onPersisted: (through) => persisted.push(through),
      onFenced: () => {
        throw new Error("not expected");
      },
    });

    persister.enqueue([turn(universe.id, 1)], []);
    const first = persister.flush();
    persister.enqueue([turn(universe.id, 2), turn(universe.id, 3)], []);
    expect(persister.flush()).toBe(first); // a tick during the write: nothing new starts yet
    expect(written).toEqual([[1]]);

    release();
    await first;
    // no further flush call: the second write follows the first by itself
    for (let i = 0; i < 100 && persisted.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(written).toEqual([[1], [2, 3]]);
    expect(persisted).toEqual([1, 3]);
    expect(await store.headPosition(universe.id)).toBe(3);
  });

  it("reports a stale head as fencing, not as a retryable failure", async () => {
    const universe = await store.createUniverse(
      { id: "persister-fenced", name: "Tides", createdBy: "gm" },
      emptyState("Tides"),
    );
    await store.appendTurns(universe.id, { expectedHead: 0, turns: [turn(universe.id, 1)] }); // another owner wrote turn 1
    const live = new MemoryLiveStore();
    const fenced: Error[] = [];
    const persister = new Persister({
      universeId: universe.id,
      writer: store,
      liveStore: live,
      persistedThrough: 0,
      sinceSnapshot: { turns: 0, deltas: 0 },
      onPersisted: () => undefined,
      onFenced: (error) => fenced.push(error),
    });
    persister.enqueue([{ ...turn(universe.id, 1), id: "stale-owner-turn" }], []);
    await persister.flush();
    expect(fenced).toHaveLength(1);
    expect(fenced[0]!.name).toBe("AppendConflictError");
    const page = await store.timeline(universe.id, { order: "asc" });
    expect(page.turns.map((t) => t.id)).toEqual([`${universe.id}-1`]);
  });

  it("group commit: one transaction for the universes that flush together, conflicts refused alone, failures retried", async () => {
    const ids = await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => {
        const universe = await store.createUniverse(
          { id: `group-${n}-${Date.now()}`, name: "Tides", createdBy: "gm" },
          emptyState("Tides"),
        );
        return universe.id;
      }),
    );
    const { store: counted, control } = flaky(store);
    const commits: Array<[number, boolean]> = [];
    const group = new GroupCommit(counted, (turns, _ms, ok) => commits.push([turns, ok]));

    // five universes flushing in the same tick, one of them twice: one group, then the second batch
    const first = ids.map((id) => group.appendTurns(id, { expectedHead: 0, turns: [turn(id, 1)] }));
    const again = group.appendTurns(ids[0]!, { expectedHead: 1, turns: [turn(ids[0]!, 2)] });
    expect(await Promise.all(first)).toEqual(ids.map(() => ({ head: 1 })));
    expect(await again).toEqual({ head: 2 });
    expect(control.groups).toEqual([5, 1]);

    // a stale head is the same AppendConflictError appendTurns throws; the others still land
    const stale = group.appendTurns(ids[1]!, { expectedHead: 0, turns: [turn(ids[1]!, 1)] });
    const fresh = group.appendTurns(ids[2]!, { expectedHead: 1, turns: [turn(ids[2]!, 2)] });
    await expect(stale).rejects.toBeInstanceOf(AppendConflictError);
    await expect(stale).rejects.toMatchObject({ expectedHead: 0, actualHead: 1 });
    expect(await fresh).toEqual({ head: 2 });

    // the database failing fails the whole group; nothing was written
    control.failuresLeft = 1;
    const failing = ids
      .slice(3)
      .map((id) => group.appendTurns(id, { expectedHead: 1, turns: [turn(id, 2)] }));
    for (const attempt of failing) await expect(attempt).rejects.toThrow("connection reset by peer");
    for (const id of ids.slice(3)) expect(await store.headPosition(id)).toBe(1);

    // a store that answers a universe's failure in its outcome: not a persisted turn, a failed commit
    control.failing = "down";
    const refused = group.appendTurns(ids[3]!, { expectedHead: 1, turns: [turn(ids[3]!, 2)] });
    await expect(refused).rejects.toThrow("down");
    // persisted turns and failures as the metrics count them, group by group (a conflict is no failure)
    expect(commits).toEqual([
      [5, true],
      [1, true],
      [1, true],
      [0, false],
      [0, false],
    ]);
  });
});
