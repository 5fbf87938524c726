import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { processAlive } from "../loadtest/src/cpu.ts";
import { spawnServer, tempDir, testPort, waitFor, type ChildServer } from "./support/server.ts";

// The server as an operator runs it: `npm start`, one process per data folder.
const root = resolve(import.meta.dirname, "..");
// (no web client build: these tests are about the process; test/browser.test.ts builds it)
const embedded = { DATABASE_URL: "", REDIS_URL: "", LOOM_WEB_BUILD: "off" };

/** `npm start` in its own process group, serving; started before the tests so it boots meanwhile. */
interface NpmStart {
  npm: ChildProcess;
  dataDir: string;
  port: number;
  output: () => string;
}

function npmStart(basePort = 2624): NpmStart {
  const dataDir = tempDir("loom-npm-start-");
  const port = testPort(basePort);
  const npm = spawn("npm", ["start"], {
    cwd: root,
    env: {
      ...process.env,
      ...embedded,
      LOOM_DATA_DIR: dataDir,
      PORT: String(port),
      LOOM_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { npm, dataDir, port, output: () => output };
}

function killGroup(group: number): void {
  try {
    process.kill(-group, "SIGKILL");
  } catch {
    // already gone
  }
}

describe("the server process", () => {
  const children: ChildServer[] = [];
  let started: NpmStart;
  beforeAll(() => {
    started = npmStart();
  });
  afterAll(() => {
    if (started?.npm.pid) killGroup(started.npm.pid);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  });

  it("refuses a second process on the same data folder, naming the holder", async () => {
    // given a server on a data folder
    const dataDir = tempDir("loom-lock-");
    const first = await spawnServer({ ...embedded, LOOM_DATA_DIR: dataDir }, 2622);
    children.push(first);
    // when a second one starts on the same folder, on another port
    const second = spawn(process.execPath, ["--import", "tsx", join(root, "server/src/main.ts")], {
      cwd: root,
      env: { ...process.env, ...embedded, LOOM_DATA_DIR: dataDir, PORT: String(testPort(2623)) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    second.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    second.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((r) => second.once("exit", (exitCode) => r(exitCode)));
    // then it exits with an error that names the first one, and the first one serves on
    expect(code).not.toBe(0);
    expect(output).toContain(`data folder ${dataDir} is in use`);
    expect(output).toContain(`pid ${first.process.pid}`);
    expect(output).toContain(`port ${testPort(2622)}`);
    expect((await fetch(`${first.url}/healthz`)).ok).toBe(true);

    // and once the first one is killed (its lock left behind, stale), a new process takes the folder
    await first.stop("SIGKILL");
    const third = await spawnServer({ ...embedded, LOOM_DATA_DIR: dataDir }, 2623);
    children.push(third);
    expect(JSON.parse(readFileSync(join(dataDir, "loom.lock"), "utf8")).pid).toBe(third.process.pid);
  }, 90_000);

  it("stops when `npm start` gets SIGTERM while the server is still loading", async () => {
    const early = npmStart(2626);
    try {
      // given the server's process started, its modules still loading (seconds: tsx compiles them)
      const group = early.npm.pid!;
      const server = () =>
        execFileSync("ps", ["-o", "pid=,args=", "-g", String(group)], { encoding: "utf8" })
          .split("\n")
          .find((line) => line.includes("server/src/main.ts") && !line.includes(" sh -c"));
      await waitFor(() => server() !== undefined, 30_000, `the server's process:\n${early.output()}`);
      const pid = Number(server()!.trim().split(/\s+/)[0]);
      // when npm alone is sent SIGTERM
      process.kill(group, "SIGTERM");
      // then the server does not go on to serve, left behind
      await waitFor(() => !processAlive(pid), 30_000, `the server (pid ${pid}) to exit:\n${early.output()}`);
    } finally {
      killGroup(early.npm.pid!);
    }
  }, 90_000);

  it("stops, flushing and releasing its data folder, when `npm start` gets SIGTERM", async () => {
    // given `npm start` in its own process group, serving
    const { npm, dataDir, port } = started;
    const healthy = async () =>
      (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true;
    await waitFor(healthy, 45_000, `npm start to serve:\n${started.output()}`);
    const server = JSON.parse(readFileSync(join(dataDir, "loom.lock"), "utf8")) as { pid: number };
    expect(server.pid).not.toBe(npm.pid);

    // when npm alone is sent SIGTERM, as a supervisor does
    process.kill(npm.pid!, "SIGTERM");

    // then the server process shuts down cleanly within a few seconds
    await waitFor(
      () => !processAlive(server.pid),
      15_000,
      `the server (pid ${server.pid}) to exit:\n${started.output()}`,
    );
    expect(await healthy()).toBe(false);
    expect(started.output()).toContain("shutdown complete");
    expect(() => readFileSync(join(dataDir, "loom.lock"))).toThrow();
  }, 90_000);
});
