import { afterAll, describe, expect, it } from "vitest";
import { redisPersistenceWarning, warnUnlessRedisPersists } from "./redis-persistence.ts";
import { captureLog } from "../log.ts";
import { startRedisServer, type OwnRedis } from "./testing/redis-server.ts";
import { testPort } from "../../../test/support/server.ts";

// Each case starts its own redis-server on a spare port, configured as the case needs.
const started: OwnRedis[] = [];

async function redisServer(port: number, ...config: string[]): Promise<string> {
  const redis = await startRedisServer(port, ...config);
  started.push(redis);
  return redis.url;
}

afterAll(() => {
  for (const redis of started.splice(0)) redis.stop();
});

describe("Redis persistence check at start", () => {
  it("warns when Redis runs without the append-only file", async () => {
    const url = await redisServer(testPort(2661), "--appendonly", "no");
    expect(await redisPersistenceWarning(url)).toMatch(/appendonly no.*lost/);
  });

  it("says nothing when Redis writes an append-only file synced every second or always", async () => {
    const everysec = await redisServer(testPort(2662), "--appendonly", "yes", "--appendfsync", "everysec");
    const always = await redisServer(testPort(2663), "--appendonly", "yes", "--appendfsync", "always");
    expect(await redisPersistenceWarning(everysec)).toBeNull();
    expect(await redisPersistenceWarning(always)).toBeNull();
  });

  it("tolerates a Redis whose CONFIG command is disabled", async () => {
    const url = await redisServer(testPort(2664), "--appendonly", "no", "--rename-command", "CONFIG", "");
    expect(await redisPersistenceWarning(url)).toBeNull();
  });

  it("logs the warning as one line, once per Redis", async () => {
    const url = await redisServer(testPort(2665), "--appendonly", "no");
    const lines: string[] = [];
    const restore = captureLog((line) => lines.push(line));
    try {
      await warnUnlessRedisPersists(url);
      await warnUnlessRedisPersists(url);
      const warnings = lines
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .filter((entry) => entry.msg.includes("appendonly no"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.level).toBe("warn");
      expect(warnings[0]!.msg).not.toContain("\n");
    } finally {
      restore();
    }
  });
});
