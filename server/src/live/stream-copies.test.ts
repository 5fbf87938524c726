import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silenceableRelay, type SilenceableRelay } from "../testing/silenceable-relay.ts";
import { sampleTurns } from "./fixtures.ts";
import { RedisLiveStore } from "./redis.ts";
import { startRedisServer } from "./testing/redis-server.ts";
import { testPort } from "../../../test/support/server.ts";

const redisUrl = process.env.REDIS_URL;

/** Positions in a read of the stream, and its last one. */
async function read(copies: ReturnType<RedisLiveStore["streamCopies"]>, universeId: string) {
  const view = await copies.readStream(universeId);
  return { positions: view.turns.map((turn) => turn.position), last: view.last };
}

// CI refuses to run without REDIS_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!redisUrl)("copies of live streams, dropped when Redis says they changed", () => {
  let relay: SilenceableRelay;
  let here: RedisLiveStore;
  let elsewhere: RedisLiveStore;
  let admin: Redis;
  beforeAll(async () => {
    const target = new URL(redisUrl!);
    target.port ||= "6379";
    relay = await silenceableRelay(target);
    // this process's store, through a relay that can silence its connections
    here = new RedisLiveStore(relay.url);
    // another process's store
    elsewhere = new RedisLiveStore(redisUrl!);
    admin = new Redis(redisUrl!);
  });
  afterAll(async () => {
    await here?.close();
    await elsewhere?.close();
    admin?.disconnect();
    await relay?.close();
  });

  /** A universe another process owns, its stream holding `count` turns. */
  async function ownedElsewhere(count: number) {
    const universeId = `copies-${randomUUID()}`;
    const lease = (await elsewhere.acquire(universeId, "elsewhere", 30_000))!;
    await elsewhere.appendTurns(lease, sampleTurns(universeId, 1, count));
    return { universeId, lease };
  }

  it("answers again from its copy until another process writes the stream", async () => {
    // given copies watching, and a stream read once
    const copies = here.streamCopies();
    await copies.start();
    expect(copies.isWatching()).toBe(true);
    const { universeId, lease } = await ownedElsewhere(2);
    expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
    // when it is read again, then Redis is not asked
    const before = { ...copies.counts };
    expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
    expect(copies.counts).toEqual({ copies: before.copies + 1, reads: before.reads });

    // when another process appends to it
    await elsewhere.appendTurns(lease, sampleTurns(universeId, 3, 1));
    // then a read shows the turn once Redis's invalidation arrives
    await expect
      .poll(() => read(copies, universeId), { timeout: 2_000, interval: 5 })
      .toEqual({ positions: [1, 2, 3], last: 3 });
    // and a trim by another process is heard the same way
    await elsewhere.trim(universeId, 2);
    await expect
      .poll(() => read(copies, universeId), { timeout: 2_000, interval: 5 })
      .toEqual({ positions: [3], last: 3 });
  });

  it("shows this process's own append at the very next read", async () => {
    const copies = here.streamCopies();
    await copies.start();
    const universeId = `copies-${randomUUID()}`;
    const lease = (await here.acquire(universeId, "here", 30_000))!;
    await here.appendTurns(lease, sampleTurns(universeId, 1, 1));
    expect(await read(copies, universeId)).toEqual({ positions: [1], last: 1 });
    // when this process appends, the read right after its acknowledgement shows the turn
    await here.appendTurns(lease, sampleTurns(universeId, 2, 1));
    expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
  });

  it("keeps nothing while a connection is closed, and watches again once it is back", async () => {
    const copies = here.streamCopies();
    await copies.start();
    const { universeId, lease } = await ownedElsewhere(1);
    await read(copies, universeId);
    // when Redis closes the copies' connections
    const clients = (await admin.call("CLIENT", "LIST", "TYPE", "normal")) as string;
    for (const line of clients.split("\n"))
      if (line.includes(`name=${copies.connectionName} `))
        await admin.call("CLIENT", "KILL", "ID", /\bid=(\d+)/.exec(line)![1]!);
    await expect.poll(() => copies.isWatching(), { timeout: 2_000, interval: 5 }).toBe(false);
    // and another process appends while nothing is tracked
    await elsewhere.appendTurns(lease, sampleTurns(universeId, 2, 1));
    // then the read shows it, whether the copies watch again yet or not
    expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
    await expect.poll(() => copies.isWatching(), { timeout: 2_000, interval: 5 }).toBe(true);
    expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
    // and changes are heard again
    await elsewhere.appendTurns(lease, sampleTurns(universeId, 3, 1));
    await expect
      .poll(() => read(copies, universeId), { timeout: 2_000, interval: 5 })
      .toEqual({ positions: [1, 2, 3], last: 3 });
  });

  it("drops every copy when a connection goes silent without closing (the heartbeat)", async () => {
    // given copies with a fast heartbeat, a stream read and kept
    const store = new RedisLiveStore(relay.url);
    try {
      const copies = store.streamCopies({ beatMs: 100 });
      await copies.start();
      const { universeId, lease } = await ownedElsewhere(1);
      await read(copies, universeId);
      // when the copies' connections go silent
      relay.silence(copies.connectionName);
      // then the heartbeat finds them: nothing is kept
      await expect.poll(() => copies.isWatching(), { timeout: 5_000, interval: 10 }).toBe(false);
      // and a turn appended meanwhile shows at once
      await elsewhere.appendTurns(lease, sampleTurns(universeId, 2, 1));
      expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
      // and new connections are made, through which changes are heard again
      await expect.poll(() => copies.isWatching(), { timeout: 5_000, interval: 10 }).toBe(true);
      await read(copies, universeId);
      await elsewhere.appendTurns(lease, sampleTurns(universeId, 3, 1));
      await expect
        .poll(() => read(copies, universeId), { timeout: 2_000, interval: 5 })
        .toEqual({ positions: [1, 2, 3], last: 3 });
    } finally {
      await store.close();
    }
  });

  it("reads from Redis each time where Redis refuses tracking", async () => {
    // given a Redis of this test's own without the CLIENT command (as some hosted ones are)
    const refusing = await startRedisServer(testPort(2684), "--rename-command", "CLIENT", '""');
    const store = new RedisLiveStore(refusing.url);
    try {
      const copies = store.streamCopies();
      await copies.start();
      expect(copies.isWatching()).toBe(false);
      const universeId = `copies-${randomUUID()}`;
      const lease = (await store.acquire(universeId, "here", 30_000))!;
      await store.appendTurns(lease, sampleTurns(universeId, 1, 1));
      // then every read is the store's own, and right
      expect(await read(copies, universeId)).toEqual({ positions: [1], last: 1 });
      await store.appendTurns(lease, sampleTurns(universeId, 2, 1));
      expect(await read(copies, universeId)).toEqual({ positions: [1, 2], last: 2 });
      expect(copies.counts).toEqual({ copies: 0, reads: 0 });
    } finally {
      await store.close();
      refusing.stop();
    }
  });
});
