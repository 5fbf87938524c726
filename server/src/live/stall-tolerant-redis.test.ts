import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StallTolerantRedis } from "./stall-tolerant-redis.ts";
import { startRedisServer, type OwnRedis } from "./testing/redis-server.ts";
import { testPort } from "../../../test/support/server.ts";

// A redis-server of this file's own: the hang below stops it (SIGSTOP), which the shared Redis
// must never be.
let redis: OwnRedis;
let url: string;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedisServer(testPort(2666));
  url = redis.url;
});

afterAll(() => {
  for (const client of clients.splice(0)) client.disconnect();
  redis.stop();
});

async function connected<T extends Redis>(client: T): Promise<T> {
  clients.push(client);
  client.on("error", () => undefined);
  await client.ping();
  return client;
}

/** Keeps this thread from running, as a core taken by other processes would. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("StallTolerantRedis", () => {
  it("counts an answer that arrived while this thread was busy as in time", async () => {
    const tolerant = await connected(new StallTolerantRedis(url, { commandTimeout: 100 }));
    const plain = await connected(new Redis(url, { commandTimeout: 100 }));
    const answers = [tolerant.set("stall", "answered"), tolerant.get("stall"), plain.get("stall")];
    const settled = Promise.allSettled(answers);
    busyFor(400);
    const [set, get, plainGet] = await settled;
    expect(set).toEqual({ status: "fulfilled", value: "OK" });
    expect(get).toEqual({ status: "fulfilled", value: "answered" });
    // ioredis's own timer, for comparison, fails the answered command
    expect(plainGet).toMatchObject({ status: "rejected", reason: { message: "Command timed out" } });
  });

  it("still fails a command that Redis does not answer, after the timeout", async () => {
    const tolerant = await connected(new StallTolerantRedis(url, { commandTimeout: 200 }));
    redis.child.kill("SIGSTOP");
    try {
      const started = performance.now();
      await expect(tolerant.get("stall")).rejects.toThrow("Command timed out");
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(190);
      expect(waited).toBeLessThan(5_000);
    } finally {
      redis.child.kill("SIGCONT");
    }
    // answered again once Redis runs
    expect(await tolerant.ping()).toBe("PONG");
  });

  it("leaves no timer behind for an answered command", async () => {
    const tolerant = await connected(new StallTolerantRedis(url, { commandTimeout: 60_000 }));
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    await Promise.all(Array.from({ length: 200 }, (_, i) => tolerant.set(`timer-${i}`, i)));
    // the clearing handlers run in the microtasks after each answer
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers() - before).toBeLessThan(10);
  });
});
