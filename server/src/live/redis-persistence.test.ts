import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisPersistenceWarning, warnUnlessRedisPersists } from "./redis-persistence.ts";
import { captureLog } from "../log.ts";
import { testPort } from "../../../test/support/server.ts";

// Each case starts its own redis-server on a spare port, configured as the case needs (the
// shared Redis is never reconfigured).
const started: Array<{ child: ChildProcess; dir: string }> = [];

async function redisServer(port: number, ...config: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "loom-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--dir", dir, ...config], {
    stdio: "ignore",
  });
  started.push({ child, dir });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined); // not up yet: the loop tries again
    try {
      await probe.connect();
      await probe.ping();
      return url;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

afterAll(() => {
  for (const { child, dir } of started.splice(0)) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
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
