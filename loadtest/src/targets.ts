import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLoomServer } from "../../server/src/app.ts";
import { describeMode, loadConfig } from "../../server/src/config.ts";
import { startBareServer } from "./bare-room.ts";
import { populateBare } from "./bare-fleet.ts";
import type { Fleet, Layout } from "./fleet.ts";
import { populateLoom } from "./loom-fleet.ts";

/** A server under load: Loom (in this process or elsewhere) or the bare baseline room. */
export interface Target {
  name: "loom" | "bare";
  url: string;
  mode: string;
  populate(layout: Layout, seed: number): Promise<Fleet>;
  shutdown(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Loom at `url`, or — without one — a Loom server started in this process on a free port:
 * embedded (PGlite in a temporary directory, in-memory live store) unless DATABASE_URL and
 * REDIS_URL are set, with the per-client rate limit above the rate the run will send.
 */
export async function startLoomTarget(options: { url?: string; actionsPerSecond: number }): Promise<Target> {
  if (options.url) {
    const url = options.url.replace(/\/$/, "");
    return {
      name: "loom",
      url,
      mode: `remote ${url}`,
      populate: (layout, seed) => populateLoom(url, layout, seed),
      shutdown: async () => undefined,
    };
  }
  // server logs go to stdout at "info"; the report's JSON line must be the only thing there
  process.env.LOOM_LOG ??= "warn";
  const dataDir = mkdtempSync(join(tmpdir(), "loom-loadtest-"));
  const config = loadConfig(process.env, {
    port: await freePort(),
    dataDir,
    inMemory: false,
    actionsPerSecond: options.actionsPerSecond,
  });
  const loom = await startLoomServer(config);
  const url = `http://127.0.0.1:${config.port}`;
  return {
    name: "loom",
    url,
    mode: `in-process, ${describeMode(config)}, rate limit ${config.actionsPerSecond}/s, persist every ${config.persistIntervalMs} ms`,
    populate: (layout, seed) => populateLoom(url, layout, seed),
    shutdown: async () => {
      await loom.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startBareTarget(): Promise<Target> {
  const bare = await startBareServer(await freePort());
  return {
    name: "bare",
    url: bare.url,
    mode: "in-process bare Colyseus room (broadcast only)",
    populate: (layout) => populateBare(bare.url, layout, () => bare.createRoom()),
    shutdown: () => bare.shutdown(),
  };
}

/** The per-client limit to configure so a run at `rate` (with jitter and bursts) is never throttled. */
export function rateLimitFor(rate: number): number {
  return Math.max(10, Math.ceil(rate * 4));
}
