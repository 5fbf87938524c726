import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLoomServer } from "../../server/src/app.ts";
import { describeMode, loadConfig } from "../../server/src/config.ts";
import { requestBareRoom, startBareServer } from "./bare-room.ts";
import { populateBare } from "./bare-fleet.ts";
import { spawnServer } from "./child-server.ts";
import type { Fleet, Layout } from "./fleet.ts";
import { populateLoom } from "./loom-fleet.ts";

/** A server under load: Loom (in this process, in a child process or elsewhere) or the bare room. */
export interface Target {
  name: "loom" | "bare";
  url: string;
  mode: string;
  /** The server's process when it is a child of this one (its CPU is reported), else null. */
  pid: number | null;
  populate(layout: Layout, seed: number): Promise<Fleet>;
  shutdown(): Promise<void>;
}

export interface TargetOptions {
  /** Per-client actions per second the server allows. */
  actionsPerSecond: number;
  /** Run the server in a child process (its own core) instead of beside the clients. */
  isolate: boolean;
  /** With `isolate`: the cores the server's process is pinned to (pin.ts); unset: not pinned. */
  serverCpus?: string;
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

export function remoteLoomTarget(url: string): Target {
  const base = url.replace(/\/$/, "");
  return {
    name: "loom",
    url: base,
    mode: `remote ${base}`,
    pid: null,
    populate: (layout) => populateLoom(base, layout),
    shutdown: async () => undefined,
  };
}

/**
 * A Loom server on a free port: embedded (PGlite and the write-ahead log in a temporary
 * directory) unless DATABASE_URL and REDIS_URL are set, with the per-client rate limit above the
 * rate the run will send. In this process through `startLoomServer`, or isolated in a child.
 */
export async function startLoomTarget(options: TargetOptions): Promise<Target> {
  // the report's JSON line must be the only thing on stdout: the server logs to stderr, at "warn"
  process.env.LOOM_LOG_LEVEL ??= "warn";
  process.env.LOOM_LOG_DESTINATION ??= "stderr";
  // a run registers every simulated member from this one address: the HTTP limits are raised
  // far above what it sends, unless the environment sets them (the child inherits these too)
  for (const limit of ["REGISTER_IP", "LOGIN_IP", "LOGIN_ACCOUNT", "WRITE_IP", "WRITE_PLAYER"])
    process.env[`LOOM_LIMIT_${limit}`] ??= "1000000/1";
  const dataDir = mkdtempSync(join(tmpdir(), "loom-loadtest-"));
  const config = loadConfig(process.env, {
    port: await freePort(),
    dataDir,
    inMemory: false,
    actionsPerSecond: options.actionsPerSecond,
  });
  const describe = `${describeMode(config)}, rate limit ${config.actionsPerSecond}/s, persist every ${config.persistIntervalMs} ms`;
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  if (options.isolate) {
    const child = await spawnServer(
      "server/src/main.ts",
      config.port,
      // the server alone: no web client build before it listens
      {
        LOOM_DATA_DIR: dataDir,
        LOOM_ACTIONS_PER_SECOND: String(config.actionsPerSecond),
        LOOM_WEB_BUILD: "off",
      },
      "/healthz",
      true,
      options.serverCpus,
    );
    return {
      name: "loom",
      url: child.url,
      mode: `child process${pinnedTo(options.serverCpus)}, ${describe}`,
      pid: child.child.pid ?? null,
      populate: (layout) => populateLoom(child.url, layout),
      shutdown: async () => {
        await child.stop();
        removeData();
      },
    };
  }
  const loom = await startLoomServer(config);
  const url = `http://127.0.0.1:${config.port}`;
  return {
    name: "loom",
    url,
    mode: `in-process, ${describe}`,
    pid: null,
    populate: (layout) => populateLoom(url, layout),
    shutdown: async () => {
      await loom.shutdown();
      removeData();
    },
  };
}

export async function startBareTarget(
  options: Pick<TargetOptions, "isolate" | "serverCpus">,
): Promise<Target> {
  const port = await freePort();
  if (options.isolate) {
    const child = await spawnServer("loadtest/src/bare-main.ts", port, {}, "/", false, options.serverCpus);
    return {
      name: "bare",
      url: child.url,
      mode: `child process${pinnedTo(options.serverCpus)}, bare Colyseus room (broadcast only)`,
      pid: child.child.pid ?? null,
      populate: (layout) => populateBare(child.url, layout, () => requestBareRoom(child.url)),
      shutdown: () => child.stop(),
    };
  }
  const bare = await startBareServer(port);
  return {
    name: "bare",
    url: bare.url,
    mode: "in-process, bare Colyseus room (broadcast only)",
    pid: null,
    populate: (layout) => populateBare(bare.url, layout, () => bare.createRoom()),
    shutdown: () => bare.shutdown(),
  };
}

function pinnedTo(cpus: string | undefined): string {
  return cpus === undefined ? "" : ` pinned to CPU ${cpus}`;
}

/** The per-client limit to configure so a run at `rate` (with jitter and bursts) is never throttled. */
export function rateLimitFor(rate: number): number {
  return Math.max(10, Math.ceil(rate * 4));
}
