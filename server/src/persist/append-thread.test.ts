import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppendThread } from "./append-thread.ts";
import { createTurnStore } from "./index.ts";
import { freshId, randomSeed } from "./testing/build.ts";
import { syntheticCampaign } from "./testing/campaign.ts";
import type { TurnStore } from "./turn-store.ts";

const databaseUrl = process.env.DATABASE_URL;

/** The thread's worker, to stop it as a crash of the thread would. */
const workerOf = async (thread: AppendThread) =>
  (await (thread as unknown as { running: Promise<{ worker: Worker }> | null }).running)?.worker;

/**
 * Group commits on their own thread (the server's default on Postgres): what the thread writes is
 * what the store reads back, a thread that stops fails only what it held, and the next commit
 * starts another. The store contract runs through the thread too (turn-store.test.ts).
 */
// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!databaseUrl)("group commits on their own thread, on Postgres", () => {
  let store: TurnStore;
  let thread: AppendThread;

  beforeAll(async () => {
    store = await createTurnStore({ databaseUrl });
    thread = new AppendThread({ databaseUrl: databaseUrl! });
  });

  afterAll(async () => {
    await thread?.close();
    await store?.close();
  });

  async function universe() {
    const id = freshId("append-thread");
    const campaign = syntheticCampaign({ universeId: id, seed: randomSeed(), narrate: true });
    await store.createUniverse({ id, name: "Threaded", createdBy: "test" }, campaign.genesis);
    return { id, next: (count: number) => Array.from({ length: count }, () => campaign.next()) };
  }

  it("writes each universe's batch in one commit, read back as written; a stale batch is refused alone", async () => {
    const a = await universe();
    const b = await universe();
    const turnsA = a.next(30);
    const turnsB = b.next(5);
    const outcomes = await thread.appendMany([
      { universeId: a.id, batch: { expectedHead: 0, turns: turnsA } },
      { universeId: b.id, batch: { expectedHead: 0, turns: turnsB } },
    ]);
    expect(outcomes).toEqual([
      { ok: true, head: 30 },
      { ok: true, head: 5 },
    ]);
    expect(await store.turnsBetween(a.id, 0, 30)).toEqual(turnsA);
    expect(await store.turnsBetween(b.id, 0, 5)).toEqual(turnsB);

    const stale = await thread.appendMany([
      { universeId: a.id, batch: { expectedHead: 29, turns: [turnsA[29]!] } },
      { universeId: b.id, batch: { expectedHead: 5, turns: b.next(2) } },
    ]);
    expect(stale[0]).toMatchObject({ ok: false, conflict: 30 });
    expect(stale[1]).toEqual({ ok: true, head: 7 });
    expect(await store.headPosition(a.id)).toBe(30);
  });

  it("fails the commits a stopped thread held, writes none of them, and starts another for the next", async () => {
    const { id, next } = await universe();
    await thread.appendMany([{ universeId: id, batch: { expectedHead: 0, turns: next(1) } }]);
    const held = next(20);
    const lost = thread.appendMany([{ universeId: id, batch: { expectedHead: 1, turns: held } }]);
    await (await workerOf(thread))!.terminate();
    await expect(lost).rejects.toThrow(/append thread stopped/);
    expect(await store.headPosition(id)).toBe(1);

    expect(await thread.appendMany([{ universeId: id, batch: { expectedHead: 1, turns: held } }])).toEqual([
      { ok: true, head: 21 },
    ]);
    expect(await store.turnsBetween(id, 1, 21)).toEqual(held);
  });

  it("refuses commits once closed", async () => {
    const closing = new AppendThread({ databaseUrl: databaseUrl! });
    const { id, next } = await universe();
    await closing.appendMany([{ universeId: id, batch: { expectedHead: 0, turns: next(2) } }]);
    await closing.close();
    await expect(
      closing.appendMany([{ universeId: id, batch: { expectedHead: 2, turns: next(1) } }]),
    ).rejects.toThrow(/closed/);
    expect(await store.headPosition(id)).toBe(2);
  });
});
