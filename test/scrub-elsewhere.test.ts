import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { createStores, type Stores } from "../server/src/persist/index.ts";
import { appendUndo, storePlayedUniverse } from "../server/src/persist/testing/played.ts";
import { templateNarration } from "../server/src/persist/testing/narration.ts";
import { NOTICES_APPLICATION } from "../server/src/persist/timeline-notices.ts";
import { RedisLiveStore } from "../server/src/live/redis.ts";

/**
 * The scrubber on Postgres answers from copies of its reads (scrub-turns.ts). Other processes
 * write to the same database: here a second store on it (a pool of its own, as another Loom
 * process has) and plain SQL. Every change they commit must show at the next scrub once the
 * database's notice of it has been heard (`caughtUp`), and copies must not outlive the connection
 * the notices come over. A turn another process appends to the universe's live stream (Redis)
 * must show once Redis's invalidation of the stream's copy has arrived.
 */
const mode = modes().find((candidate) => candidate.name === "postgres+redis")!;

async function refusal(promise: Promise<unknown>): Promise<{ status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { status?: number };
  }
  throw new Error("expected a refusal");
}

describe.skipIf(!mode.available)("the scrubber while other processes write (postgres+redis)", () => {
  let server: LoomServer & { url: string };
  let other: Stores;
  let otherLive: RedisLiveStore;
  let sql: postgres.Sql;
  let gm: LoomClient;
  let gmId: string;
  const id = `elsewhere-${Date.now().toString(36)}`;
  const head = 1_140;

  beforeAll(async () => {
    server = await startServer(mode, { port: 2675 });
    other = await createStores({ databaseUrl: mode.databaseUrl! });
    otherLive = new RedisLiveStore(mode.redisUrl!);
    sql = postgres(mode.databaseUrl!, { max: 1, onnotice: () => {} });
    gm = connect(server.url);
    gmId = (await gm.registerPlayer("Archivist")).player.id;
    // written by the other process, its game masters in its settings, so that one can be removed
    await storePlayedUniverse(other.turnStore, { id, createdBy: "founder", turns: head, seed: 5 });
    await sql`update universes set settings = ${sql.json({ gms: [gmId] })} where id = ${id}`;
    await caughtUp();
    // the scrubber keeps copies of the universes it indexes: scrubbed until the index answers
    while ((await gm.scrub(id, 1_100)).source.kind !== "index") await new Promise((r) => setTimeout(r, 100));
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await other?.turnStore.close();
    await otherLive?.drop(id);
    await otherLive?.close();
    await server?.shutdown();
  });

  /** Every change committed so far has been heard by the server. */
  const caughtUp = () => server.services.turnStore.caughtUp!();

  /** Scrubs `positions` twice (the second time from what the first kept) and checks them against the store. */
  async function scrubbedAsStored(positions: readonly number[], expectedHead: number): Promise<void> {
    for (let pass = 0; pass < 2; pass++)
      for (const position of positions) {
        const scrubbed = await gm.scrub(id, position);
        expect(scrubbed.head, `head at ${position}`).toBe(expectedHead);
        expect(scrubbed.turn, `position ${position}`).toEqual(await gm.turn(id, position));
      }
  }

  it("shows each kind of write another process commits at the next scrub once its notice is heard", async () => {
    // given a GM scrubbing a long campaign, each position read and kept
    const narrated = 1_001;
    const watched = [3, 77, 640, narrated, head];
    await scrubbedAsStored(watched, head);
    expect(server.services.turnStore.watching!()).toBe(true);

    // when another process records a narration on a kept turn
    expect(await other.turnStore.setNarration(id, narrated, templateNarration("Fog on the moor."))).toBe(
      true,
    );
    await caughtUp();
    // then the next scrub shows it
    expect((await gm.scrub(id, narrated)).turn?.narration?.text).toBe("Fog on the moor.");
    await scrubbedAsStored(watched, head);

    // when another process adds a retelling
    const telling = { ...templateNarration("The fog lifts."), createdAt: new Date().toISOString() };
    expect(await other.turnStore.appendRetelling(id, narrated, telling)).toBe(true);
    await caughtUp();
    expect((await gm.scrub(id, narrated)).turn?.narration?.retellings?.at(-1)?.text).toBe("The fog lifts.");

    // when another process appends an undo of a kept turn (its mark is written on the turn, the head moves)
    await appendUndo(other.turnStore, id, head, 77);
    await caughtUp();
    // then the new head, which no notice announces (a process that appends writes the live stream
    // first, which this one does not), once the kept record has aged out (RECORD_MAX_AGE_MS); a
    // kept position is scrubbed, as a miss would read the record with the turn
    await expect
      .poll(async () => (await gm.scrub(id, 640)).head, { timeout: 10_000, interval: 50 })
      .toBe(head + 1);
    // and the undone turn shows its mark
    expect((await gm.scrub(id, 77)).turn?.status).toBe("undone");
    await scrubbedAsStored([...watched, head + 1], head + 1);

    // when another process reveals the universe's dice
    await other.turnStore.revealDice(id);
    await caughtUp();
    await scrubbedAsStored(watched, head + 1);

    // when another process takes the game master's role away (plain SQL: any writer is heard)
    await sql`update universes set settings = '{}'::jsonb where id = ${id}`;
    await caughtUp();
    // then the next scrub refuses them
    expect(await refusal(gm.scrub(id, 640))).toMatchObject({ status: 403 });
    await sql`update universes set settings = ${sql.json({ gms: [gmId] })} where id = ${id}`;
    await caughtUp();
    await scrubbedAsStored(watched, head + 1);
  }, 120_000);

  it("drops its copies when the connection the notices come over is lost, and keeps none until it is back", async () => {
    // given positions scrubbed and kept
    const position = 901;
    await scrubbedAsStored([position, 950], head + 1);
    // when the server's listening connection is cut
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = ${NOTICES_APPLICATION}`;
    await expect
      .poll(() => server.services.turnStore.watching!(), { timeout: 10_000, interval: 5 })
      .toBe(false);
    // and another process writes while it is down, whose notice nobody hears
    expect(await other.turnStore.setNarration(id, position, templateNarration("Unheard."))).toBe(true);
    // then the scrub shows the write, whether the connection is back or not
    expect((await gm.scrub(id, position)).turn?.narration?.text).toBe("Unheard.");
    await expect
      .poll(() => server.services.turnStore.watching!(), { timeout: 10_000, interval: 5 })
      .toBe(true);
    expect((await gm.scrub(id, position)).turn?.narration?.text).toBe("Unheard.");
    await scrubbedAsStored([position, 950], head + 1);
  }, 60_000);

  it("shows a turn another process appends to the live stream once Redis says the stream changed", async () => {
    // given a GM scrubbing, the live stream read and kept
    const newest = await gm.turn(id, head + 1);
    await scrubbedAsStored([640, head + 1], head + 1);
    const copies = server.services.liveStore.streamCopies!();
    const kept = copies.counts.copies;
    await gm.scrub(id, 640);
    expect(copies.counts.copies).toBe(kept + 1);
    // when another process takes the universe and appends a turn to its live stream (acknowledged
    // there once the append returns; the database has not got it yet)
    const lease = (await otherLive.acquire(id, "other-process", 30_000))!;
    await otherLive.ensureStream(lease, head + 1);
    const appended = { ...newest, id: `${newest.id}-next`, position: head + 2 };
    await otherLive.appendTurns(lease, [appended]);
    // then the next scrubs show it: the head first, and the turn itself
    await expect
      .poll(async () => (await gm.scrub(id, 640)).head, { timeout: 2_000, interval: 5 })
      .toBe(head + 2);
    expect((await gm.scrub(id, head + 2)).turn).toEqual(await gm.turn(id, head + 2));
    expect((await gm.scrub(id, head + 2)).turn?.id).toBe(appended.id);
  }, 60_000);
});
