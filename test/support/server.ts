import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig, type LoomConfig } from "../../server/src/config.ts";
import { startLoomServer, type LoomServer } from "../../server/src/app.ts";

export const TEST_SECRET = "loom-test-secret-0123456789abcdef";
/** Every test server's LOOM_OPERATOR_TOKEN: tests that read which universes fail send it. */
export const TEST_OPERATOR_TOKEN = "loom-test-operator-0123456789abcdef";
export const OPERATOR = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` } as const;

/**
 * Tests register many players, write a lot from 127.0.0.1 and join rooms in quick succession: their
 * servers keep every HTTP and join limit switched on but far above what a test sends. The
 * rate-limit tests set their own.
 */
const HIGH = { burst: 1_000_000, perSeconds: 1 };
export const TEST_LIMITS = {
  registerPerIp: HIGH,
  loginPerIp: HIGH,
  loginPerAccount: HIGH,
  writePerIp: HIGH,
  writePerPlayer: HIGH,
  exportPerPlayer: HIGH,
  exportsAtOnce: 1_000,
};
const TEST_LIMIT_ENV = {
  ...Object.fromEntries(
    [
      "REGISTER_IP",
      "LOGIN_IP",
      "LOGIN_ACCOUNT",
      "WRITE_IP",
      "WRITE_PLAYER",
      "JOIN_PLAYER",
      "EXPORT_PLAYER",
    ].map((name) => [`LOOM_LIMIT_${name}`, "1000000/1"]),
  ),
  LOOM_MAX_EXPORTS: "1000",
};

/**
 * Test servers listen on fixed ports (the matchmaker is a singleton per thread); a checkout that
 * runs its suite beside another one shifts them all with LOOM_TEST_PORT_OFFSET, and each parallel
 * worker shifts its own by another 100 (worker-setup.ts). Ports of `npm test`'s files therefore
 * stay within one block of 100; the fault suite, which runs alone, uses the next one.
 */
export const TEST_PORTS = { first: 2589, last: 2688 } as const;

export function testPort(port: number): number {
  const parallel = process.env.LOOM_TEST_WORKER_PORTS === "1";
  if (parallel && (port < TEST_PORTS.first || port > TEST_PORTS.last))
    throw new Error(
      `test port ${port} is outside ${TEST_PORTS.first}–${TEST_PORTS.last}: it would meet another worker's`,
    );
  return port + Number(process.env.LOOM_TEST_PORT_OFFSET ?? 0);
}
const root = resolve(import.meta.dirname, "../..");

/**
 * Waits until nothing listens on `port`. The worker thread that ran the previous file on these
 * ports is terminated while the next file starts, and may still hold a server a failed hook left
 * running; its sockets close when the thread is gone.
 */
async function portFree(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const free = await new Promise<boolean>((resolveFree) => {
      const probe = createServer();
      probe.once("error", () => resolveFree(false));
      probe.listen(port, () => probe.close(() => resolveFree(true)));
    });
    if (free) return;
    if (Date.now() > deadline) throw new Error(`port ${port} is still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Mode {
  name: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  /**
   * Whether this process has the mode's services. A test runs in every mode and skips those it
   * cannot reach (`describe.skipIf(!mode.available)`), so the summary counts what did not run.
   */
  available: boolean;
}

/** The modes a server-level test runs in: embedded, and Postgres + Redis when configured. */
export function modes(): Mode[] {
  const databaseUrl = process.env.DATABASE_URL || null;
  const redisUrl = process.env.REDIS_URL || null;
  return [
    { name: "embedded", databaseUrl: null, redisUrl: null, available: true },
    { name: "postgres+redis", databaseUrl, redisUrl, available: Boolean(databaseUrl && redisUrl) },
  ];
}

export function tempDir(prefix = "loom-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts a server inside the test process (one at a time: the matchmaker is a singleton). */
export async function startServer(
  mode: Mode,
  overrides: Partial<LoomConfig> = {},
): Promise<LoomServer & { url: string }> {
  const config = loadConfig(
    {},
    {
      databaseUrl: mode.databaseUrl,
      redisUrl: mode.redisUrl,
      secret: TEST_SECRET,
      operatorToken: TEST_OPERATOR_TOKEN,
      dataDir: overrides.dataDir ?? tempDir(),
      inMemory: overrides.dataDir === undefined,
      persistIntervalMs: 50,
      leaseTtlMs: 3_000,
      reconnectSeconds: 1,
      actionsPerSecond: 0,
      limits: TEST_LIMITS,
      joinsPerPlayer: HIGH,
      ...overrides,
      port: testPort(overrides.port ?? 2590),
    },
  );
  await portFree(config.port);
  const server = await startLoomServer(config);
  return { ...server, url: `http://127.0.0.1:${config.port}` };
}

/** One line of a server's log (server/src/log.ts): JSON with at least these fields. */
export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  time: string;
  msg: string;
  universeId?: string;
  requestId?: string;
  code?: string;
  err?: string;
  [field: string]: unknown;
}

/** Every line of a server's stdout read as a log entry; a line that is not one fails the test. */
export function logEntries(stdout: string): LogEntry[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        throw new Error(`a log line that is not JSON: ${line.slice(0, 300)}`);
      }
      if (
        typeof entry.msg !== "string" ||
        typeof entry.level !== "string" ||
        Number.isNaN(Date.parse(entry.time))
      )
        throw new Error(`a log line without level, time and msg: ${line.slice(0, 300)}`);
      return entry;
    });
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** stdout and stderr as they came. */
  output: () => string;
  /** stdout's lines as log entries (JSON: the child's stdout is no terminal). */
  logs: () => LogEntry[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a server as a child process (`npm start`'s entry point) and waits for /healthz. */
export async function spawnServer(env: Record<string, string>, port: number): Promise<ChildServer> {
  await portFree(testPort(port));
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "server/src/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      LOOM_SECRET: TEST_SECRET,
      LOOM_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN,
      PORT: String(testPort(port)),
      LOOM_LOG_LEVEL: "warn",
      LOOM_ACTIONS_PER_SECOND: "0",
      // the API is what these servers are for; test/browser.test.ts builds the web client itself
      LOOM_WEB_BUILD: "off",
      ...TEST_LIMIT_ENV,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${testPort(port)}`;
  // a boot is seconds of CPU: a machine busy with other work can stretch it past half a minute
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    output: () => output,
    logs: () => logEntries(stdout),
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Starts several servers side by side (their boots are mostly CPU of one thread each); if one
 * fails, the others are stopped and the first error is thrown.
 */
export async function spawnServers(
  servers: ReadonlyArray<{ env: Record<string, string>; port: number }>,
): Promise<ChildServer[]> {
  const settled = await Promise.allSettled(servers.map(({ env, port }) => spawnServer(env, port)));
  const failed = settled.find((result) => result.status === "rejected");
  if (!failed) return settled.map((result) => (result as PromiseFulfilledResult<ChildServer>).value);
  for (const result of settled) if (result.status === "fulfilled") await result.value.stop("SIGKILL");
  throw failed.reason;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
