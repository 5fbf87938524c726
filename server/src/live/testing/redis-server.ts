import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export interface OwnRedis {
  url: string;
  child: ChildProcess;
  /** Kills it (resuming it first, should a test have stopped it) and removes its folder. */
  stop(): void;
}

/**
 * A redis-server of a test's own on a spare port, configured as the test needs, ready when this
 * resolves: the shared Redis is never reconfigured, stopped or paused.
 */
export async function startRedisServer(port: number, ...config: string[]): Promise<OwnRedis> {
  const dir = mkdtempSync(join(tmpdir(), "loom-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--dir", dir, ...config], {
    stdio: "ignore",
  });
  const stop = () => {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined); // not up yet: the loop tries again
    try {
      await probe.connect();
      await probe.ping();
      return { url, child, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        stop();
        throw error;
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}
