import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCharacter, checksum, emptyState, type Turn } from "@loom/shared";
import { createStores, createTurnStore, type TurnStore } from "../persist/index.ts";
import type { LeaseLedger } from "../persist/lease-ledger.ts";
import { MemoryLiveStore } from "../live/memory.ts";
import { UniverseAuthority, type SubmitRequest, type SubmitResult } from "./authority.ts";
import { PersistHealth } from "./persist-health.ts";
import { PendingBudget } from "./pending-budget.ts";

/** A player's character, as a join adds it. */
const MARA = buildCharacter("mara", "player-1", {
  name: "Mara",
  highConcept: "Tide-reader",
  trouble: "Owes the ferryman",
  aspects: [],
  skills: { Notice: 2 },
  refresh: 3,
  notes: "",
});

/**
 * A real memory live store whose appends can be held, then let through or failed: a slow or
 * failing Redis under a universe's commands.
 */
function gated(store: MemoryLiveStore) {
  const control = {
    batches: [] as number[][],
    held: null as null | { release: () => void; fail: (error: Error) => void },
    holdNext: false,
    /** The next append lands in the store, then reports an error (a reply lost on the way back). */
    loseNextReply: false,
  };
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      if (key !== "appendTurns") return Reflect.get(target, key, receiver) as unknown;
      return async (...args: Parameters<MemoryLiveStore["appendTurns"]>) => {
        control.batches.push(args[1].map((turn) => turn.position));
        if (control.holdNext) {
          control.holdNext = false;
          await new Promise<void>((release, fail) => (control.held = { release, fail }));
        }
        await target.appendTurns(...args);
        if (control.loseNextReply) {
          control.loseNextReply = false;
          throw new Error("connection reset by peer");
        }
      };
    },
  });
  return { liveStore: wrapped, control };
}

const gm = { kind: "gm" as const, playerId: "gm-1" };

function tide(value: number, seq?: number): SubmitRequest {
  return {
    actor: gm,
    command: {
      kind: "world_event",
      text: `The tide reaches mark ${value}`,
      major: false,
      deltas: [{ op: "set", path: "/world/flags/tide", value }],
    },
    ...(seq === undefined ? {} : { client: { key: "gm-client", seq } }),
  };
}

function undo(targetPosition: number): SubmitRequest {
  return { actor: gm, command: { kind: "undo", targetPosition } };
}

/** Settles `promise` into a readable state without waiting for it. */
function watch(promise: Promise<SubmitResult>) {
  const seen: { result?: SubmitResult } = {};
  void promise.then((result) => (seen.result = result));
  return seen;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("universe authority: pipelined live appends", () => {
  let store: TurnStore;
  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
  });
  afterAll(async () => {
    await store.close();
  });

  async function open(id: string) {
    const universe = await store.createUniverse(
      { id, name: "Tides", createdBy: "gm-1" },
      emptyState("Tides"),
    );
    const live = new MemoryLiveStore();
    const { liveStore, control } = gated(live);
    const lease = (await live.acquire(universe.id, "process-1", 60_000))!;
    const authority = await UniverseAuthority.hydrate({
      universe,
      turnStore: store,
      liveStore,
      lease,
      durableOnLiveAppend: false,
      newId: (() => {
        let next = 0;
        return () => `${id}-turn-${++next}`;
      })(),
    });
    const seen: Turn[] = [];
    const fenced: Error[] = [];
    authority.setListener({ onTurn: (turn) => seen.push(turn), onFenced: (error) => fenced.push(error) });
    return { authority, live, liveStore, lease, control, seen, fenced, universe };
  }

  it("decides commands while an append is in flight and acknowledges them in order, in one batch", async () => {
    // given an append held in flight
    const { authority, control, seen, universe } = await open("pipeline-order");
    control.holdNext = true;
    const first = watch(authority.submit(tide(1)));
    await tick();

    // when two more commands arrive meanwhile
    const second = watch(authority.submit(tide(2)));
    const third = watch(authority.submit(tide(3)));
    await tick();
    expect([first.result, second.result, third.result]).toEqual([undefined, undefined, undefined]);
    expect(authority.head).toBe(0);
    control.held!.release();
    await authority.drain(5_000);

    // then they were decided on the state after the first, appended together, and acknowledged in order
    expect(control.batches).toEqual([[1], [2, 3]]);
    expect(
      [first, second, third].map((seen) => (seen.result?.ok ? seen.result.turn.position : null)),
    ).toEqual([1, 2, 3]);
    expect(seen.map((turn) => turn.position)).toEqual([1, 2, 3]);
    expect(authority.head).toBe(3);
    expect(authority.state.world.flags.tide).toBe(3);
    expect((await store.timeline(universe.id, { order: "asc" })).turns.map((turn) => turn.position)).toEqual([
      1, 2, 3,
    ]);
  });

  it("gives a turn the prose its teller tells as it is made: in the live store, the ack and the store alike", async () => {
    // given a teller that tells from the turn and the state after it, and one turn it fails on
    const { authority, live, seen, universe } = await open("told-at-once");
    authority.setTeller((turn, state) => {
      if (turn.position === 2) throw new Error("a teller that fails");
      return {
        text: `Tide ${String(state.world.flags.tide)} at ${turn.position}.`,
        narrator: "template",
        model: null,
        seed: 1,
        promptHash: null,
        tokens: null,
      };
    });

    // when two turns are made
    const first = await authority.submit(tide(7));
    const second = await authority.submit(tide(8));
    const inLiveStore = await live.readTail(universe.id, 0);
    await authority.drain(5_000);

    // then the first carries its prose from its first write on; the second is made without
    expect(first.ok && first.turn.narration?.text).toBe("Tide 7 at 1.");
    expect(inLiveStore.map((turn) => turn.narration?.text ?? null)).toEqual(["Tide 7 at 1.", null]);
    expect(seen[0]?.narration?.text).toBe("Tide 7 at 1.");
    expect((await store.getTurn(universe.id, 1))?.narration?.text).toBe("Tide 7 at 1.");
    expect(second.ok && second.turn.narration).toBeNull();
    expect((await store.getTurn(universe.id, 2))?.narration).toBeNull();
  });

  it("refuses a failed append's turns and every turn decided after them, and changes nothing", async () => {
    // given one acknowledged turn, then an append held in flight with a command decided behind it
    const { authority, live, control, seen, universe } = await open("pipeline-failure");
    expect((await authority.submit(tide(1))).ok).toBe(true);
    const before = checksum(authority.state);
    control.holdNext = true;
    const failing = authority.submit(tide(2));
    await tick();
    const behind = authority.submit(tide(3));

    // when the append fails
    control.held!.fail(new Error("connection reset by peer"));

    // then both are refused with a code, and the universe is as it was
    for (const result of await Promise.all([failing, behind])) {
      expect(result).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    }
    expect(authority.head).toBe(1);
    expect(checksum(authority.state)).toBe(before);
    expect(seen.map((turn) => turn.position)).toEqual([1]);

    // and the next command takes the next position
    const next = await authority.submit(tide(4));
    expect(next.ok && next.turn.position).toBe(2);
    expect(authority.state.world.flags.tide).toBe(4);
    expect((await live.readTail(universe.id, 0)).map((turn) => turn.position)).toEqual([1, 2]);
  });

  it("answers a retried message whose turn is still waiting with that turn, applied once", async () => {
    // given a command with a client sequence number waiting on its append
    const { authority, control, universe, live } = await open("pipeline-retry");
    control.holdNext = true;
    const original = authority.submit(tide(5, 1));
    await tick();

    // when the same message arrives again before the append returns
    const retried = authority.submit(tide(5, 1));
    control.held!.release();
    const [first, again] = await Promise.all([original, retried]);

    // then both get the same turn, the retry marked as a duplicate, and there is one turn
    expect(first).toMatchObject({ ok: true, duplicate: false });
    expect(again).toMatchObject({ ok: true, duplicate: true });
    expect(first.ok && again.ok && again.turn.id === first.turn.id).toBe(true);
    expect(authority.head).toBe(1);
    expect(await live.readTail(universe.id, 0)).toHaveLength(1);
  });

  it("answers a retry of a turn long acknowledged with that turn, read back from the store", async () => {
    // given a turn from client seq 1, persisted, then 210 more turns
    const { authority, universe } = await open("retry-old");
    const original = await authority.submit(tide(1, 1));
    expect(original.ok).toBe(true);
    for (let value = 2; value <= 211; value++) expect((await authority.submit(tide(value))).ok).toBe(true);
    await authority.flush();
    expect(authority.recentTurns.some((turn) => turn.position === 1)).toBe(false);

    // when the client retries seq 1
    const retried = await authority.submit(tide(1, 1));

    // then it gets the original turn, marked a duplicate, and nothing is applied
    expect(retried).toMatchObject({ ok: true, duplicate: true, turn: { position: 1 } });
    if (original.ok && retried.ok) expect(retried.turn.id).toBe(original.turn.id);
    expect(authority.head).toBe(211);
    expect(await store.headPosition(universe.id)).toBe(211);
  });

  it("decides an undo against the undos still waiting for their append", async () => {
    // given an acknowledged turn and an undo of it held in flight
    const { authority, control } = await open("pipeline-undo");
    expect((await authority.submit(tide(9))).ok).toBe(true);
    control.holdNext = true;
    const undone = authority.submit(undo(1));
    await tick();

    // when a second undo of the same turn arrives
    const again = authority.submit(undo(1));
    control.held!.release();

    // then the second one is refused: the turn is already undone on the timeline ahead
    expect(await undone).toMatchObject({ ok: true });
    expect(await again).toMatchObject({ ok: false, rejection: { code: "nothing_to_undo" } });
    expect(authority.head).toBe(2);
    expect(authority.state.world.flags.tide).toBeUndefined();
    expect(authority.recentTurns.find((turn) => turn.position === 1)?.status).toBe("undone");
  });

  it("reads the stream back after an append whose reply was lost and keeps the turn that landed", async () => {
    // given a turn acknowledged, then an append that lands but whose reply is lost
    const { authority, control, fenced, seen } = await open("pipeline-lost-reply");
    expect((await authority.submit(tide(1))).ok).toBe(true);
    control.loseNextReply = true;
    const lost = await authority.submit(tide(2, 7));
    expect(lost).toMatchObject({ ok: false, rejection: { code: "unavailable" } });

    // when the authority has read the stream back
    await authority.settled();

    // then the turn that landed is part of the timeline, a retry gets it once, and play goes on
    expect(authority.head).toBe(2);
    expect(authority.state.world.flags.tide).toBe(2);
    const retried = await authority.submit(tide(2, 7));
    expect(retried).toMatchObject({ ok: true, duplicate: true, turn: { position: 2 } });
    expect(await authority.submit(tide(3))).toMatchObject({ ok: true, turn: { position: 3 } });
    expect(fenced).toEqual([]);
    expect(seen.map((turn) => turn.position)).toEqual([1, 2, 3]);
    expect(await authority.drain(5_000)).toBe(true);
  });

  it("stops serving when the stream holds a turn it did not write, and the universe opened again has it", async () => {
    // given a turn acknowledged, then another writer's turn in the stream at the next position
    const { authority, fenced, liveStore, lease, universe } = await open("pipeline-foreign");
    const first = await authority.submit(tide(1));
    if (!first.ok) throw new Error("the first turn was refused");
    await liveStore.appendTurns(lease, [{ ...first.turn, id: "foreign-2", position: 2 }]);

    // when the next command is appended at the same position
    const next = await authority.submit(tide(3));

    // then the stream refuses it, and the authority stops serving instead of refusing forever
    expect(next).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    expect(fenced.map((error) => error.name)).toEqual(["TurnOrderError"]);
    expect(await authority.submit(tide(4))).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    expect(await authority.drain(5_000)).toBe(true);
    const again = await UniverseAuthority.hydrate({
      universe,
      turnStore: store,
      liveStore,
      lease,
      durableOnLiveAppend: false,
      newId: () => "pipeline-foreign-again",
    });
    expect(again.head).toBe(2);
    expect(again.recentTurns.at(-1)?.id).toBe("foreign-2");
  });

  it("tells a command refused behind a waiting one what the waiting one did, once it settles", async () => {
    // given a character being added, its append held in flight
    const { authority, control } = await open("pipeline-settled");
    const mara = MARA;
    const add = (): SubmitRequest => ({
      actor: { kind: "system", playerId: "player-1" },
      command: { kind: "add_character", character: mara },
    });
    control.holdNext = true;
    const first = authority.submit(add());
    await tick();

    // when the same character is added again (a second join of the same run)
    const second = await authority.submit(add());

    // then the second is refused at once, before the acknowledged state has the character
    expect(second.ok).toBe(false);
    expect(authority.state.characters.mara).toBeUndefined();
    // and once everything decided has settled, the state shows what the first one did
    const settled = authority.settled();
    control.held!.release();
    await settled;
    expect((await first).ok).toBe(true);
    expect(authority.state.characters.mara?.name).toBe("Mara");
  });

  it("does not open a universe whose newest snapshot does not match its checksum: the error names it, a metric counts it", async () => {
    // given a universe with a snapshot at position 2
    const { authority, universe } = await open("damaged-snapshot");
    expect((await authority.submit(tide(1))).ok).toBe(true);
    expect((await authority.submit(tide(2))).ok).toBe(true);
    expect(authority.requestSnapshot()).toBe(2);
    expect(await authority.drain(5_000)).toBe(true);
    const honest = (await store.getSnapshotAtOrBefore(universe.id, 2))!;
    expect(honest.position).toBe(2);
    // read once, intact: this process has seen it whole
    expect((await store.stateAt(universe.id, 2)).fromSnapshot).toBe(2);

    // when its document changes under its checksum, and the universe is opened again
    await store.replaceSnapshot({ ...honest, state: { ...honest.state, mode: "downtime" } });
    const health = new PersistHealth();
    const reopen = async () => {
      const live = new MemoryLiveStore();
      const lease = (await live.acquire(universe.id, "process-2", 60_000))!;
      return UniverseAuthority.hydrate({
        universe,
        turnStore: store,
        liveStore: live,
        lease,
        durableOnLiveAppend: false,
        newId: () => "unused",
        health,
      });
    };

    // then it does not open, the error names the snapshot, and the metric counts it
    await expect(reopen()).rejects.toMatchObject({
      name: "DamagedSnapshotError",
      code: "damaged_snapshot",
      universeId: universe.id,
      position: 2,
    });
    expect(health.read()).toMatchObject({ damagedSnapshots: 1, lastDamagedSnapshot: `${universe.id}@2` });

    // and once the snapshot is rebuilt, it opens where it was
    await store.replaceSnapshot(honest);
    expect((await reopen()).state.world.flags.tide).toBe(2);
  });
});

describe("universe authority: a lease taken again after it lapsed", () => {
  let stores: Awaited<ReturnType<typeof createStores>>;
  beforeAll(async () => {
    stores = await createStores({ inMemory: true });
  });
  afterAll(async () => {
    await stores.turnStore.close();
  });

  /**
   * A universe whose lease lapses at will (the memory store's clock jumps past its TTL), over the
   * real lease ledger, whose registrations can be held: a database that hangs, then answers.
   */
  async function lapsing(id: string) {
    const universe = await stores.turnStore.createUniverse(
      { id, name: "Tides", createdBy: "gm-1" },
      emptyState("Tides"),
    );
    let now = 1_000_000;
    const live = new MemoryLiveStore({ now: () => now });
    const lease = (await live.acquire(universe.id, "process-1", 3_000))!;
    expect(await stores.leases.register(universe.id, lease.token)).toBe(true);
    const gate = { hold: false, waiting: [] as Array<() => void> };
    const leases: LeaseLedger = new Proxy(stores.leases, {
      get(target, key, receiver) {
        if (key !== "register") return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<LeaseLedger["register"]>) => {
          if (gate.hold) await new Promise<void>((resolve) => gate.waiting.push(resolve));
          return target.register(...args);
        };
      },
    });
    const authority = await UniverseAuthority.hydrate({
      universe,
      turnStore: stores.turnStore,
      liveStore: live,
      lease,
      leases,
      leaseTtlMs: 3_000,
      durableOnLiveAppend: false,
      newId: () => `${id}-${Math.random()}`,
    });
    return {
      universe,
      live,
      authority,
      gate,
      lapse: () => (now += 10_000),
      letGo: () => {
        gate.hold = false;
        for (const resolve of gate.waiting.splice(0)) resolve();
      },
    };
  }

  it("keeps the universe when renewals pile up while the ledger hangs and all answer at once", async () => {
    const { universe, live, authority, gate, lapse, letGo } = await lapsing("renewals-pile-up");
    lapse();
    // the first renewal takes the lease again and registers its token; the database hangs
    gate.hold = true;
    const renewals = [authority.keepLease(3_000)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(gate.waiting.length).toBe(1);
    // the room's timer keeps renewing meanwhile (every third of the TTL)
    for (let i = 0; i < 4; i++) renewals.push(authority.keepLease(3_000));
    await new Promise((resolve) => setTimeout(resolve, 20));
    letGo();
    const outcomes = await Promise.all(renewals);
    // each answer is this owner's own token: none is taken for a newer owner's
    expect(outcomes).not.toContain("elsewhere");
    expect(outcomes[0]).toBe("taken");
    expect(await live.owner(universe.id)).toEqual({ owner: "process-1", token: authority.lease.token });
    expect(await stores.leases.read(universe.id)).toMatchObject({ leaseToken: authority.lease.token });
    expect(await authority.keepLease(3_000)).toBe("kept");
    expect((await authority.submit(tide(1))).ok).toBe(true);
  });

  it("renews while the ledger hangs, instead of waiting for it until the lock lapses", async () => {
    const { universe, live, authority, gate, lapse, letGo } = await lapsing("ledger-hangs");
    lapse();
    gate.hold = true;
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      outcomes.push(await authority.keepLease(3_000));
      // well within the TTL, whatever the database does: a renewal that waited for the hanging
      // ledger would not answer before the lock lapsed (a busy machine may pass the renewal interval)
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    expect(outcomes).toEqual(["taken", "kept", "kept"]);
    expect(await live.owner(universe.id)).toEqual({ owner: "process-1", token: authority.lease.token });
    letGo();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await stores.leases.read(universe.id)).toMatchObject({ leaseToken: authority.lease.token });
  });

  it("gives the universe up once the ledger says a newer owner registered", async () => {
    const { universe, authority, lapse } = await lapsing("supplanted");
    lapse();
    expect(await authority.keepLease(3_000)).toBe("taken");
    expect(await stores.leases.register(universe.id, authority.lease.token + 5)).toBe(true);
    lapse();
    expect(await authority.keepLease(3_000)).toBe("elsewhere");
    expect(await authority.keepLease(3_000)).toBe("elsewhere");
  });

  it("does not take the lease again once retired, even with a renewal in flight", async () => {
    const { universe, live, authority, gate, lapse, letGo } = await lapsing("retired");
    lapse();
    gate.hold = true;
    // a renewal in flight: it took the lease again and waits for the ledger
    const renewal = authority.keepLease(3_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(gate.waiting.length).toBe(1);
    // the room closes: retires its authority and releases its lease
    authority.retire();
    await live.release(authority.lease);
    letGo();
    expect(await renewal).toBe("elsewhere");
    expect(await live.owner(universe.id)).toBeNull();
    // and a renewal after it does not take it either
    lapse();
    expect(await authority.keepLease(3_000)).toBe("elsewhere");
    expect(await live.owner(universe.id)).toBeNull();
  });
});

describe("universe authority: the process's bound on turns waiting for the database", () => {
  let store: TurnStore;
  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
  });
  afterAll(async () => {
    await store.close();
  });

  async function open(id: string, budget: PendingBudget, maxPendingTurns = 100) {
    const universe = await store.createUniverse(
      { id, name: "Tides", createdBy: "gm-1" },
      emptyState("Tides"),
    );
    const live = new MemoryLiveStore();
    const lease = (await live.acquire(universe.id, "process-1", 60_000))!;
    let next = 0;
    return UniverseAuthority.hydrate({
      universe,
      turnStore: store,
      liveStore: live,
      lease,
      durableOnLiveAppend: true,
      newId: () => `${id}-turn-${++next}`,
      maxPendingTurns,
      pendingBudget: budget,
    });
  }

  it("refuses commands in every universe of the process once their waiting turns reach it, and serves again as they are written", async () => {
    const budget = new PendingBudget(3);
    const [first, second] = await Promise.all([open("budget-first", budget), open("budget-second", budget)]);
    // nothing is written (no tick): the turns wait, as they do while the database is down
    expect((await first.submit(tide(1, 1))).ok).toBe(true);
    expect((await first.submit(tide(2, 2))).ok).toBe(true);
    expect((await second.submit(tide(1, 1))).ok).toBe(true);
    expect(budget.count).toBe(3);

    // each universe is far below its own bound (100), the process is at its own
    for (const [authority, seq] of [
      [first, 3],
      [second, 2],
    ] as const) {
      const refused = await authority.submit(tide(9, seq));
      expect(refused).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
      if (!refused.ok)
        expect(refused.rejection.message).toMatch(/3 turns of this server's universes are waiting/);
    }
    expect([first.head, second.head]).toEqual([2, 1]); // nothing of the refused ones was applied

    // the database takes the first universe's turns: both serve again
    expect(await first.drain(5_000)).toBe(true);
    expect(budget.count).toBe(1);
    expect((await second.submit(tide(2, 3))).ok).toBe(true);
    expect((await first.submit(tide(3, 4))).ok).toBe(true);
    expect(budget.count).toBe(3);

    // a universe handed to its next owner no longer counts here
    second.retire();
    expect(budget.count).toBe(1);
    expect(await first.drain(5_000)).toBe(true);
    expect(budget.count).toBe(0);
  });

  const player = { kind: "player" as const, playerId: "player-1" };
  const sessionStart: SubmitRequest = {
    actor: player,
    command: { kind: "session_start", characterId: "mara", refresh: true },
  };
  const sessionEnd: SubmitRequest = {
    actor: player,
    command: { kind: "session_end", characterId: "mara", summary: "" },
  };

  /** A universe with Mara in it, her player seated: a session started, and one turn of play. */
  async function seated(id: string, budget: PendingBudget, maxPendingTurns?: number) {
    const authority = await open(id, budget, maxPendingTurns);
    const mara = MARA;
    const added = await authority.submit({
      actor: { kind: "system", playerId: "player-1" },
      command: { kind: "add_character", character: mara },
    });
    const started = await authority.submit(sessionStart);
    const played = await authority.submit(tide(1, 1));
    expect([added.ok, started.ok, played.ok]).toEqual([true, true, true]);
    return { authority, started: started.ok ? started.turn : null };
  }

  it("counts the server's own turns too: session markers past the process's bound are refused, those taken before are written", async () => {
    // given a seated player, whose three turns fill the process's bound (the database takes nothing)
    const budget = new PendingBudget(3);
    const { authority, started } = await seated("budget-sessions", budget);
    expect(budget.count).toBe(3);

    // when she leaves and joins again, and again
    const markers = [];
    for (let i = 0; i < 3; i++)
      markers.push(await authority.submit(sessionEnd), await authority.submit(sessionStart));

    // then every marker is refused before it is decided: nothing more waits in memory
    for (const refused of markers) {
      expect(refused).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
      if (!refused.ok)
        expect(refused.rejection.message).toMatch(/3 turns of this server's universes are waiting/);
    }
    expect(authority.head).toBe(3);
    expect(budget.count).toBe(3);

    // and the session start acknowledged before the bound is written with the rest once the
    // database takes them, after which her session ends
    expect(await authority.drain(5_000)).toBe(true);
    expect(budget.count).toBe(0);
    expect(await store.getTurn("budget-sessions", started!.position)).toMatchObject({
      id: started!.id,
      kind: "session_start",
    });
    expect(await authority.submit(sessionEnd)).toMatchObject({ ok: true, turn: { kind: "session_end" } });
  });

  it("counts the server's own turns against one universe's bound as well", async () => {
    // given a seated player whose universe is at its own bound of three, the process far from its own
    const budget = new PendingBudget(1_000);
    const { authority } = await seated("universe-bound-sessions", budget, 3);

    // when her session would end
    const ended = await authority.submit(sessionEnd);

    // then its marker is refused like a command, and nothing more waits
    expect(ended).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    if (!ended.ok) expect(ended.rejection.message).toMatch(/^3 turns are waiting for the database/);
    expect(authority.pendingCount).toBe(3);
    expect(await authority.drain(5_000)).toBe(true);
    expect((await authority.submit(sessionEnd)).ok).toBe(true);
  });
});
