import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyState, type Narration, type Turn } from "@loom/shared";
import { createTurnStore, type TurnStore } from "../persist/index.ts";
import { NotFoundError } from "../persist/turn-store.ts";
import { NarrationRecorder } from "./narration-recorder.ts";

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
    input: { kind: "world_event", text: `Bells ring (${position})` },
    resolution: null,
    events: [
      { type: "world_event", description: `Bells ring (${position})`, major: false, hidden: false, data: {} },
    ],
    deltas: [
      {
        op: "set",
        path: "/world/flags/bells",
        value: position,
        prev: position === 1 ? undefined : position - 1,
      },
    ],
    status: "applied",
    narration: null,
    createdAt: new Date(0).toISOString(),
  };
}

const told = (text: string): Narration => ({
  text,
  narrator: "template",
  model: null,
  seed: 7,
  promptHash: null,
  tokens: null,
});

describe("narration recorder", () => {
  let store: TurnStore;
  const groups: number[] = [];
  let counted: Pick<TurnStore, "setNarrations">;

  beforeAll(async () => {
    store = await createTurnStore({ inMemory: true });
    counted = {
      setNarrations: (records) => {
        groups.push(records.length);
        return store.setNarrations(records);
      },
    };
  });
  afterAll(async () => {
    await store.close();
  });

  async function universe(id: string, turns: number): Promise<string> {
    await store.createUniverse({ id, name: "Belfry", createdBy: "gm" }, emptyState("Belfry"));
    await store.appendTurns(id, {
      expectedHead: 0,
      turns: Array.from({ length: turns }, (_, i) => turn(id, i + 1)),
    });
    return id;
  }

  it("writes the records that arrive together, or during a write, as one group per write", async () => {
    const a = await universe("recorder-a", 30);
    const b = await universe("recorder-b", 30);
    const recorder = new NarrationRecorder(counted);
    groups.length = 0;
    const first = [1, 2, 3].map((p) => recorder.record(a, p, told(`a${p}`)));
    const second = [1, 2].map((p) => recorder.record(b, p, told(`b${p}`)));
    expect(await Promise.all([...first, ...second])).toEqual([true, true, true, true, true]);
    expect(groups).toEqual([5]);

    // records made while a group is being written wait for the next one, together
    const during: Array<Promise<boolean>> = [recorder.record(a, 10, told("a10"))];
    await new Promise((r) => setImmediate(r));
    for (let p = 11; p <= 20; p++) during.push(recorder.record(a, p, told(`a${p}`)));
    during.push(recorder.record(a, 10, told("a10 again")));
    expect(await Promise.all(during)).toEqual([...Array(11).fill(true), false]);
    expect(groups.slice(1)).toEqual([1, 11]);
    expect((await store.getTurn(a, 10))?.narration?.text).toBe("a10");
    expect((await store.getTurn(b, 2))?.narration?.text).toBe("b2");
  });

  it("a record for a missing turn fails alone; the rest of its group is written", async () => {
    const c = await universe("recorder-c", 5);
    const recorder = new NarrationRecorder(counted);
    const results = await Promise.allSettled([
      recorder.record(c, 1, told("c1")),
      recorder.record(c, 99, told("nowhere")),
      recorder.record(c, 2, told("c2")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
    expect((await store.getTurn(c, 1))?.narration?.text).toBe("c1");
    expect((await store.getTurn(c, 2))?.narration?.text).toBe("c2");
  });

  it("bounds a group: a backlog is written in groups of at most the limit", async () => {
    const d = await universe("recorder-d", 25);
    const recorder = new NarrationRecorder(counted, 10);
    groups.length = 0;
    const all = Array.from({ length: 25 }, (_, i) => recorder.record(d, i + 1, told(`d${i + 1}`)));
    expect(await Promise.all(all)).toEqual(Array(25).fill(true));
    expect(groups).toEqual([10, 10, 5]);
  });

  it("given a linger, writes the records that arrive within it as one group", async () => {
    const e = await universe("recorder-e", 10);
    // a linger far longer than the six arrivals take, even when a busy machine runs timers late
    const recorder = new NarrationRecorder(counted, 500, 1_000);
    groups.length = 0;
    const all: Array<Promise<boolean>> = [];
    for (let p = 1; p <= 6; p++) {
      all.push(recorder.record(e, p, told(`e${p}`)));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await Promise.all(all)).toEqual(Array(6).fill(true));
    expect(groups).toEqual([6]);
    expect((await store.getTurn(e, 6))?.narration?.text).toBe("e6");
  });
});
