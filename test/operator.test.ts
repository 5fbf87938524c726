import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createServer, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { simulateCampaign } from "@loom/shared/testing";
import { ConfigError, loadConfig, type LoomConfig } from "../server/src/config.ts";
import { lockDataDir } from "../server/src/data-dir-lock.ts";
import { logLevel } from "../server/src/log.ts";
import { createStores } from "../server/src/persist/index.ts";
import { loom, loomStopped, spawnLoom, type CliRun } from "./support/cli.ts";
import { logEntries, tempDir, TEST_SECRET, testPort } from "./support/server.ts";
import { appendPlayed } from "./support/timeline.ts";

/**
 * The operator's side as hostile input: the environment a server starts with, and the `loom`
 * command line given wrong arguments, wrong files, two at once, or Ctrl-C halfway. Each mistake
 * is one line naming what is wrong and what is wanted, a non-zero exit, and nothing changed.
 */
const root = resolve(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const configSource = readFileSync(join(root, "server/src/config.ts"), "utf8");

/** The README's configuration table: each variable and its default as written. */
function readmeVariables(): Map<string, string> {
  const table = readme.slice(
    readme.indexOf("## Configuration"),
    readme.indexOf("### What an acknowledgement"),
  );
  const rows = new Map<string, string>();
  for (const line of table.split("\n")) {
    const row = /^\| `([A-Z][A-Z_]*)`\s*\|\s*(.*?)\s*\|/.exec(line);
    if (row) rows.set(row[1]!, row[2]!);
  }
  return rows;
}

/** Every variable config.ts reads or checks. */
function configVariables(): Set<string> {
  const named = /(?:env\.|")((?:LOOM_|DATABASE_URL|REDIS_URL|PORT)[A-Z_]*)\b/g;
  return new Set([...configSource.matchAll(named)].map((match) => match[1]!));
}

/** The configuration without its clock (a function, equal to no other). */
function settings(env: NodeJS.ProcessEnv): Omit<LoomConfig, "clock"> {
  const { clock: _clock, ...rest } = loadConfig(env);
  return rest;
}

const aFile = join(tempDir("loom-operator-config-"), "a-file");
writeFileSync(aFile, "not a folder\n");
const MODEL = { LOOM_NARRATOR_MODEL: "llama3.2" };

/**
 * Values no variable of the table may take, each refused naming its variable. Every variable of
 * the README's table has its entry; free text (a key, a model's name) has none.
 */
const BAD: Record<string, Array<string | NodeJS.ProcessEnv>> = {
  PORT: ["0", "70000", "-1", "80a", " ", "2567 ", "1.5", "1e3"],
  DATABASE_URL: ["notaurl", "mysql://loom:loom@127.0.0.1/loom", "127.0.0.1:5432"],
  REDIS_URL: ["notaurl", "http://127.0.0.1:6379", "127.0.0.1:6379"],
  LOOM_SECRET: ["too-short"],
  LOOM_ACCESS_TOKEN_TTL_SECONDS: ["0", "-5", "fifteen", "999999999999"],
  LOOM_REFRESH_TOKEN_TTL_SECONDS: ["0", "999999999999"],
  LOOM_REFRESH_REUSE_GRACE_SECONDS: ["3601", "-1", "x"],
  LOOM_LIMIT_REGISTER_IP: ["30", "0/60", "30/0", "a/b", "30/60/1"],
  LOOM_LIMIT_LOGIN_IP: ["60 per 600"],
  LOOM_LIMIT_LOGIN_ACCOUNT: ["-1/600"],
  LOOM_LIMIT_WRITE_IP: ["none"],
  LOOM_LIMIT_WRITE_PLAYER: ["120/"],
  LOOM_LIMIT_JOIN_PLAYER: ["10/30s"],
  LOOM_LIMIT_EXPORT_PLAYER: ["6"],
  LOOM_MAX_EXPORTS: ["0", "-1", "two"],
  LOOM_TRUST_PROXY: ["banana", "10.0.0.0/99"],
  LOOM_CORS_ORIGINS: ["play.example.com", "https://play.example.com/path"],
  LOOM_OPERATOR_TOKEN: ["hunter2"],
  LOOM_DATA_DIR: [aFile, join(aFile, "below")],
  LOOM_IN_MEMORY: ["true", "yes"],
  LOOM_PUBLIC_ADDRESS: ["http://play.example.com:2567", "play.example.com:2567?x=1", ":2567"],
  LOOM_HOST: ["127.0.0.1:2567", "http://127.0.0.1", "play example", "-loom"],
  LOOM_ACTIONS_PER_SECOND: ["-1", "ten", "1.5"],
  LOOM_MAX_CONNECTIONS_PER_PLAYER: ["-1", "eight"],
  LOOM_MAX_CHARACTERS_PER_UNIVERSE: ["0", "-1", "x"],
  LOOM_MAX_SAVE_POINTS: ["0", "-1", "many"],
  LOOM_MAX_UNIVERSES_PER_PLAYER: ["0", "-1", "lots"],
  LOOM_SESSION_GAP_SECONDS: ["-1", "999999999999"],
  LOOM_IDEMPOTENCY_TTL_SECONDS: ["0", "-1", "999999999999"],
  // a delay past 2^31 - 1 ms fires after 1 ms
  LOOM_PERSIST_INTERVAL_MS: ["0", "99999999999", "fast"],
  LOOM_PERSIST_BATCH: ["0", "-1", "x"],
  LOOM_SEARCH_INDEX_DELAY_MS: ["-1", "99999999999"],
  LOOM_PATCH_INTERVAL_MS: ["0", "99999999999"],
  LOOM_LEASE_TTL_MS: ["0", "99999999999"],
  LOOM_MAX_PENDING_TURNS: ["0", "x"],
  LOOM_MAX_PENDING_TURNS_TOTAL: ["0", "x"],
  LOOM_KEPT_STATES_MB: ["lots", "-1"],
  LOOM_PART_TEXTS_MB: ["32MB"],
  LOOM_KEPT_STATES_FROM_KB: ["big"],
  LOOM_REDIS_TIMEOUT_MS: ["0", "99999999999"],
  LOOM_DATABASE_TIMEOUT_MS: ["0", "99999999999"],
  LOOM_APPEND_THREAD: ["true", "yes"],
  LOOM_PGLITE_WORKER: ["false", "no"],
  LOOM_RECONNECT_SECONDS: ["-1", "2147484"],
  LOOM_CLIENT_BACKLOG_KB: ["63", "1048577", "4MB"],
  LOOM_SEAT_CHECK_MS: ["0"],
  LOOM_SHUTDOWN_DRAIN_MS: ["-1", "2147483647"],
  LOOM_NARRATOR: ["gpt", "Template"],
  LOOM_NARRATOR_URL: [
    { LOOM_NARRATOR_URL: "localhost:11434", ...MODEL },
    { LOOM_NARRATOR_URL: "ftp://127.0.0.1/v1", ...MODEL },
    { LOOM_NARRATOR: "openai", ...MODEL },
  ],
  LOOM_NARRATOR_MODEL: [{ LOOM_NARRATOR_URL: "http://127.0.0.1:11434/v1" }],
  LOOM_NARRATOR_API_KEY: [],
  LOOM_NARRATOR_TIMEOUT_MS: ["0", "99999999999"],
  LOOM_NARRATOR_RETRIES: ["-1"],
  LOOM_NARRATOR_CONCURRENCY: ["0"],
  LOOM_NARRATOR_BACKLOG: ["-1"],
  LOOM_NARRATOR_MAX_TOKENS: ["0"],
  LOOM_NARRATOR_TEMPERATURE: ["hot", "2.5", "-0.1", " "],
  LOOM_NARRATOR_PROMPT_TOKENS: ["0"],
  LOOM_NARRATOR_THREAD_NICE: ["20", "-1"],
  LOOM_LOG_LEVEL: ["loud", "INFO"],
  LOOM_LOG_FORMAT: ["text"],
  LOOM_LOG_DESTINATION: ["file"],
  LOOM_WEB_BUILD: ["no", "false"],
};

describe("configuration: a value the server cannot use stops it, naming the variable", () => {
  it("every variable of the README's table is checked here", () => {
    expect(Object.keys(BAD).sort()).toEqual([...readmeVariables().keys()].sort());
  });

  it.each(Object.entries(BAD).filter(([, values]) => values.length > 0))("%s", (variable, values) => {
    for (const value of values) {
      const env = typeof value === "string" ? { [variable]: value } : value;
      let thrown: unknown = null;
      try {
        loadConfig(env);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variable, JSON.stringify(env)).toBe(variable);
      expect((thrown as Error).message, JSON.stringify(env)).toMatch(new RegExp(`^${variable} `));
    }
  });

  it("never repeats a URL or a secret it refuses (they may hold a password)", () => {
    for (const [variable, value] of [
      ["DATABASE_URL", "mysql://loom:hunter2-secret@db.internal/loom"],
      ["DATABASE_URL", "hunter2-secret"],
      ["REDIS_URL", "http://:hunter2-secret@127.0.0.1:6379"],
      ["LOOM_SECRET", "hunter2-secret"],
    ] as const)
      expect(() => loadConfig({ [variable]: value })).toThrow(/^(?!.*hunter2).*$/s);
  });

  it("takes what the README says it takes, at the edges of each range", () => {
    for (const env of [
      { PORT: "1" },
      { PORT: "65535" },
      { DATABASE_URL: "postgresql://loom@127.0.0.1/loom?prepare=false" },
      { REDIS_URL: "rediss://:secret@redis.example.com:6380/2" },
      { REDIS_URL: "/var/run/redis/redis.sock" },
      { LOOM_TRUST_PROXY: "loopback, 10.0.0.0/8" },
      { LOOM_TRUST_PROXY: "2" },
      { LOOM_PUBLIC_ADDRESS: "play.example.com:2567" },
      { LOOM_PUBLIC_ADDRESS: "10.0.0.5:2567/loom" },
      { LOOM_HOST: "127.0.0.1" },
      { LOOM_HOST: "::" },
      { LOOM_HOST: "loom.internal" },
      { LOOM_APPEND_THREAD: "on", LOOM_PGLITE_WORKER: "0", LOOM_IN_MEMORY: "1" },
      { LOOM_SHUTDOWN_DRAIN_MS: "0", LOOM_RECONNECT_SECONDS: "0", LOOM_REFRESH_REUSE_GRACE_SECONDS: "3600" },
      // 0: no limit
      { LOOM_ACTIONS_PER_SECOND: "0", LOOM_MAX_CONNECTIONS_PER_PLAYER: "0" },
      { LOOM_CLIENT_BACKLOG_KB: "64" },
      { LOOM_CLIENT_BACKLOG_KB: "1048576" },
      { LOOM_NARRATOR_URL: "https://api.openai.com/v1", ...MODEL, LOOM_NARRATOR_TEMPERATURE: "0" },
      { LOOM_DATA_DIR: join(tempDir("loom-operator-new-"), "not", "there", "yet") },
      {
        LOOM_KEPT_STATES_MB: "0",
        LOOM_PART_TEXTS_MB: "0.5",
        LOOM_LOG_LEVEL: "silent",
        LOOM_WEB_BUILD: "off",
      },
    ])
      expect(() => loadConfig(env), JSON.stringify(env)).not.toThrow();
  });

  it("an empty variable is an unset one", () => {
    const empty = Object.fromEntries([...readmeVariables().keys()].map((name) => [name, ""]));
    expect(settings(empty)).toEqual(settings({}));
  });
});

describe("configuration: the README's table and the code agree", () => {
  it("names every variable config.ts reads, and none it does not", () => {
    expect([...readmeVariables().keys()].sort()).toEqual([...configVariables()].sort());
  });

  it("mentions every variable the server's code reads", () => {
    const sources = readdirSync(join(root, "server/src"), { recursive: true, encoding: "utf8" }).filter(
      (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
    );
    const read = new Set<string>();
    for (const file of sources)
      for (const match of readFileSync(join(root, "server/src", file), "utf8").matchAll(
        /process\.env\.([A-Z][A-Z_]+)|env\.(LOOM_[A-Z_]+)/g,
      ))
        read.add((match[1] ?? match[2])!);
    // set by tools rather than operators
    for (const name of ["npm_lifecycle_event", "VITEST", "LOOM_STARTED_BY_PID"]) read.delete(name);
    const missing = [...read].filter((name) => !new RegExp(`\\b${name}\\b`).test(readme));
    expect(missing).toEqual([]);
  });

  it("gives the defaults the code has", () => {
    const defaults = settings({});
    const code = files(["server/src/persist/kept-states.ts", "server/src/persist/part-texts.ts"]);
    for (const [name, cell] of readmeVariables()) {
      const literal = /^`?([\w./:-]+)`?(?: \(.*\))?$/.exec(cell)?.[1];
      if (!literal || literal === "unset") continue;
      // set to its README default, a variable changes nothing
      expect(settings({ [name]: literal }), `${name}=${literal}`).toEqual(defaults);
      // and those read elsewhere fall back to it there
      const fallback = new RegExp(`${name} \\|\\| ([\\d.]+)`).exec(code)?.[1];
      if (fallback !== undefined) expect(fallback, name).toBe(literal);
    }
    expect(logLevel({})).toBe(readmeVariables().get("LOOM_LOG_LEVEL"));
  });
});

function files(paths: string[]): string {
  return paths.map((path) => readFileSync(join(root, path), "utf8")).join("\n");
}

interface Refused {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm start`'s entry point, which must refuse to start: killed if it is still running after a minute. */
async function startRefused(
  env: NodeJS.ProcessEnv,
  signalled?: (stop: () => void) => void,
): Promise<Refused> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "server/src/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: "",
      REDIS_URL: "",
      LOOM_SECRET: TEST_SECRET,
      LOOM_DATA_DIR: tempDir("loom-operator-refused-"),
      PORT: String(testPort(2647)),
      LOOM_WEB_BUILD: "off",
      // "Loom starting" is an info line: it must never come
      LOOM_LOG_LEVEL: "info",
      LOOM_LOG_FORMAT: "json",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  signalled?.(() => child.kill("SIGTERM"));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise<number | null>((done) => child.once("close", (exit) => done(exit)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function expectRefusal(run: Refused, variable: string, wants: RegExp): void {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  expect(run.stderr).toBe("");
  const entries = logEntries(run.stdout);
  expect(entries.map((entry) => entry.msg)).toEqual([expect.stringMatching(wants) as unknown]);
  expect(entries[0]).toMatchObject({ level: "error" });
  expect(entries[0]!.msg).toContain(variable);
}

describe("the server refuses to start on a bad value, in one line, before opening anything", () => {
  it("a trust proxy Express cannot read (it used to start, then fail naming no variable)", async () => {
    const run = await startRefused({ LOOM_TRUST_PROXY: "banana" });
    expectRefusal(run, "LOOM_TRUST_PROXY", /^Loom could not start: LOOM_TRUST_PROXY must be /);
  }, 90_000);

  it("a persist batch of 0 turns, which would write every turn on its own", async () => {
    const run = await startRefused({ LOOM_PERSIST_BATCH: "0" });
    expectRefusal(
      run,
      "LOOM_PERSIST_BATCH",
      /^Loom could not start: LOOM_PERSIST_BATCH must be a whole number of at least 1, got "0"$/,
    );
  });

  it("a data folder below a file", async () => {
    const run = await startRefused({ LOOM_DATA_DIR: join(aFile, "data") });
    expectRefusal(
      run,
      "LOOM_DATA_DIR",
      new RegExp(`^Loom could not start: LOOM_DATA_DIR must be a folder, but ${aFile} is a file$`),
    );
  }, 90_000);

  it("a Redis URL that is not one (it used to retry a host named after it)", async () => {
    const run = await startRefused({ REDIS_URL: "http://127.0.0.1:6379" });
    expectRefusal(run, "REDIS_URL", /^Loom could not start: REDIS_URL must be a URL such as redis:/);
  }, 90_000);

  it("a data folder another process holds", async () => {
    const dataDir = tempDir("loom-operator-held-");
    const lock = await lockDataDir(dataDir, 2648);
    try {
      const run = await startRefused({ LOOM_DATA_DIR: dataDir });
      expectRefusal(
        run,
        "LOOM_DATA_DIR",
        new RegExp(
          `^Loom could not start: the data folder ${dataDir} is in use by another Loom process \\(pid ${process.pid}, port 2648`,
        ),
      );
    } finally {
      await lock.release();
    }
  }, 90_000);
});

/**
 * A port that takes connections and never says a word: a service that hangs, or a proxy in front
 * of none. The drivers' connect timeouts end at the connection, and then they wait for good.
 */
async function silentListener(port: number, onConnection = () => {}): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    onConnection();
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

const PASSWORD = "hunter2-secret";
const SILENT_PORT = testPort(2672);
const refusedPostgres = `postgres://loom:${PASSWORD}@127.0.0.1:1/loom`;
const silentPostgres = `postgres://loom:${PASSWORD}@127.0.0.1:${SILENT_PORT}/loom`;
const refusedRedis = `redis://:${PASSWORD}@127.0.0.1:1/0`;
const silentRedis = `redis://:${PASSWORD}@127.0.0.1:${SILENT_PORT}/0`;
/** The test's own Postgres, asked for a database it does not have. */
const missingDatabase = (() => {
  if (!process.env.DATABASE_URL) return null;
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/loom_no_such_database_${randomUUID().slice(0, 8)}`;
  return url.toString();
})();

/** Neither the URL nor its password is repeated anywhere the process wrote. */
function expectUrlKept(run: { stdout: string; stderr: string }, url: string): void {
  const password = decodeURIComponent(new URL(url).password);
  for (const secret of [url, password].filter(Boolean)) expect(run.stdout + run.stderr).not.toContain(secret);
}

describe("the server refuses to start on a database or Redis it cannot use, in one line naming the variable", () => {
  const PORT = String(testPort(2671));
  beforeAll(() => silentListener(SILENT_PORT));

  it("a Postgres that refuses the connection", async () => {
    const run = await startRefused({ DATABASE_URL: refusedPostgres, PORT });
    expectRefusal(
      run,
      "DATABASE_URL",
      /^Loom could not start: DATABASE_URL points at 127\.0\.0\.1:1, which refused the connection/,
    );
    expectUrlKept(run, refusedPostgres);
  }, 90_000);

  it.skipIf(!missingDatabase)(
    "a database the Postgres does not have",
    async () => {
      const run = await startRefused({ DATABASE_URL: missingDatabase!, PORT });
      expectRefusal(
        run,
        "DATABASE_URL",
        /^Loom could not start: DATABASE_URL names a database that \S+ does not have: database "loom_no_such_database_\w+" does not exist/,
      );
      expectUrlKept(run, missingDatabase!);
    },
    90_000,
  );

  it("a Postgres that never answers: given up after LOOM_DATABASE_TIMEOUT_MS (it used to wait for good)", async () => {
    const run = await startRefused({ DATABASE_URL: silentPostgres, LOOM_DATABASE_TIMEOUT_MS: "1000", PORT });
    expectRefusal(
      run,
      "DATABASE_URL",
      new RegExp(
        `^Loom could not start: DATABASE_URL points at 127\\.0\\.0\\.1:${SILENT_PORT}, which timed out: no answer from Postgres within 1 s \\(LOOM_DATABASE_TIMEOUT_MS\\)$`,
      ),
    );
    expectUrlKept(run, silentPostgres);
  }, 90_000);

  it("a stop asked for while it waits on a Postgres that never answers ends it at once, not after LOOM_DATABASE_TIMEOUT_MS", async () => {
    let connected: () => void = () => {};
    const reached = new Promise<void>((resolve) => (connected = resolve));
    const close = await silentListener(testPort(2673), () => connected());
    try {
      const waitForever = `postgres://loom:${PASSWORD}@127.0.0.1:${testPort(2673)}/loom`;
      // a bound far past the test's own: only a stop heard during the check ends the process in time
      const run = await startRefused(
        { DATABASE_URL: waitForever, LOOM_DATABASE_TIMEOUT_MS: "600000", PORT },
        (stop) => void reached.then(stop),
      );
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(logEntries(run.stdout).map((entry) => entry.msg)).toEqual([
        "stopped while checking the services; nothing was opened",
      ]);
    } finally {
      await close();
    }
  }, 90_000);

  it("a Redis that refuses the connection (it used to print the driver's retries and name nothing)", async () => {
    const run = await startRefused({ REDIS_URL: refusedRedis, PORT });
    expectRefusal(
      run,
      "REDIS_URL",
      /^Loom could not start: REDIS_URL points at 127\.0\.0\.1:1, which refused the connection/,
    );
    expectUrlKept(run, refusedRedis);
  }, 90_000);

  it("a Redis that never answers", async () => {
    const run = await startRefused({ REDIS_URL: silentRedis, PORT });
    expectRefusal(
      run,
      "REDIS_URL",
      new RegExp(
        `^Loom could not start: REDIS_URL points at 127\\.0\\.0\\.1:${SILENT_PORT}, which timed out: no answer from Redis within 5 s$`,
      ),
    );
    expectUrlKept(run, silentRedis);
  }, 90_000);
});

describe("LOOM_LOG_LEVEL=silent still says why the server did not start, on stderr", () => {
  const PORT = String(testPort(2671));
  const quiet = { LOOM_LOG_LEVEL: "silent", PORT };

  function expectSaid(run: Refused, wants: RegExp): void {
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(wants);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  }

  it("a value refused", async () => {
    expectSaid(
      await startRefused({ ...quiet, LOOM_TRUST_PROXY: "banana" }),
      /^Loom could not start: LOOM_TRUST_PROXY must be /,
    );
  }, 90_000);

  it("a Redis that cannot be reached", async () => {
    const run = await startRefused({ ...quiet, REDIS_URL: refusedRedis });
    expectSaid(run, /^Loom could not start: REDIS_URL points at 127\.0\.0\.1:1, which refused/);
    expectUrlKept(run, refusedRedis);
  }, 90_000);

  it("a data folder another process holds", async () => {
    const dataDir = tempDir("loom-operator-held-quiet-");
    const lock = await lockDataDir(dataDir, 2648);
    try {
      expectSaid(
        await startRefused({ ...quiet, LOOM_DATA_DIR: dataDir }),
        /^Loom could not start: the data folder .* is in use by another Loom process/,
      );
    } finally {
      await lock.release();
    }
  }, 90_000);
});

/** What a failed command must look like: its exit code, one line `loom: …`, no stack. */
function expectFailure(run: CliRun, code: number, message: string | RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  if (typeof message === "string") expect(run.stderr).toBe(`loom: ${message}\n`);
  else expect(run.stderr).toMatch(message);
}

describe("loom, without a database to reach", () => {
  beforeAll(() => silentListener(SILENT_PORT));

  it("a Postgres URL that is none, or one nobody answers at", async () => {
    expectFailure(
      await loom(["--database-url", "notaurl", "universes"]),
      2,
      "--database-url must be a URL such as postgres://loom:loom@127.0.0.1:5432/loom, got a value that is not a URL",
    );
    const refused = await loom(["--database-url", refusedPostgres, "universes"]);
    expectFailure(
      refused,
      2,
      "--database-url points at 127.0.0.1:1, which refused the connection: is Postgres running there, on that port?",
    );
    expectUrlKept(refused, refusedPostgres);
    // from the environment, named as such
    expectFailure(
      await loom(["universes"], { DATABASE_URL: refusedPostgres }),
      2,
      /^loom: DATABASE_URL points at 127\.0\.0\.1:1, which refused the connection/,
    );
  });

  it.skipIf(!missingDatabase)("a database the Postgres does not have", async () => {
    const run = await loom(["export", "anything"], { DATABASE_URL: missingDatabase! });
    expectFailure(
      run,
      2,
      /^loom: DATABASE_URL names a database that \S+ does not have: database "loom_no_such_database_\w+" does not exist/,
    );
    expectUrlKept(run, missingDatabase!);
  });

  it("a Postgres that never answers: given up after LOOM_DATABASE_TIMEOUT_MS, as the process's exit code says (it used to wait for good)", async () => {
    const timedOut = `points at 127.0.0.1:${SILENT_PORT}, which timed out: no answer from Postgres within 1 s (LOOM_DATABASE_TIMEOUT_MS)`;
    const started = Date.now();
    const run = await loom(["--database-url", silentPostgres, "verify", "anything"], {
      LOOM_DATABASE_TIMEOUT_MS: "1000",
    });
    expectFailure(run, 2, `--database-url ${timedOut}`);
    expect(Date.now() - started).toBeLessThan(10_000);
    const command = spawnLoom(["universes"], {
      DATABASE_URL: silentPostgres,
      LOOM_DATABASE_TIMEOUT_MS: "1000",
    });
    expect(await command.exited, command.stderr()).toBe(2);
    expect(command.stderr()).toBe(`loom: DATABASE_URL ${timedOut}\n`);
    expectUrlKept({ stdout: command.stdout(), stderr: command.stderr() }, silentPostgres);
  }, 90_000);

  it("a refusal is said whatever LOOM_LOG_LEVEL is", async () => {
    expectFailure(
      await loom(["universes"], { LOOM_LOG_LEVEL: "silent", LOOM_LEASE_TTL_MS: "0" }),
      2,
      'LOOM_LEASE_TTL_MS must be a whole number from 1 to 2147483647, got "0"',
    );
    expectFailure(
      await loom(["universes"], { LOOM_LOG_LEVEL: "silent", DATABASE_URL: refusedPostgres }),
      2,
      /^loom: DATABASE_URL points at 127\.0\.0\.1:1, which refused the connection/,
    );
  });

  it("a data folder that is a file, or that holds no database (a typing error: nothing is made there)", async () => {
    expectFailure(
      await loom(["--data-dir", aFile, "universes"]),
      2,
      `--data-dir must be a folder, but ${aFile} is a file`,
    );
    const typo = join(tempDir("loom-operator-typo-"), "dtaa");
    for (const args of [["universes"], ["export", "anything"], ["verify", "anything"], ["jump", "x", "1"]]) {
      const run = await loom(["--data-dir", typo, ...args]);
      expectFailure(run, 2, new RegExp(`^loom: cannot [a-z ]+: no embedded database in ${typo} `));
    }
    expect(existsSync(typo)).toBe(false);
  });

  it("an import refused into a new data folder leaves no folder and no database behind", async () => {
    const parent = tempDir("loom-operator-new-");
    const fresh = join(parent, "data");
    const file = join(root, "test/fixtures/replay/reference.v2.jsonl");
    const run = await loom(["--data-dir", fresh, "import", file], { LOOM_PGLITE_WORKER: "0" });
    // a database this new has no players: the exported creator cannot be its game master
    expectFailure(run, 1, /^loom: refused .*reference\.v2\.jsonl: .*gm-1.*--gm <playerId>/);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe("loom loads what a command needs, not the server", () => {
  it("config.ts reads LOOM_TRUST_PROXY without loading Express for every command", () => {
    const loaded = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { createRequire } from "node:module";
await import("./server/src/cli/program.ts");
const cache = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify(cache.filter((file) => /[\\\\/]node_modules[\\\\/]express[\\\\/]/.test(file))));`,
      ],
      { cwd: root, encoding: "utf8", timeout: 60_000 },
    );
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(JSON.parse(loaded.stdout)).toEqual([]);
  }, 90_000);

  it("loom --help, as the installed command runs it", async () => {
    const help = spawnLoom(["--help"]);
    expect(await help.exited, help.stderr()).toBe(0);
    expect(help.stdout()).toContain("Usage: loom [options] [command]");
    expect(help.stderr()).toBe("");
  }, 90_000);
});

/** Turns of the universe every test works on: several batches of an import, pages of an export. */
const TURNS = 8_000;

const cliModes = [
  { name: "embedded", databaseUrl: null as string | null },
  { name: "postgres", databaseUrl: process.env.DATABASE_URL || null },
];

for (const mode of cliModes) {
  describe.skipIf(mode.name === "postgres" && !mode.databaseUrl)(`loom, mistaken (${mode.name})`, () => {
    const tag = randomUUID().slice(0, 8);
    const gm = `operator-gm-${tag}`;
    const universeId = `operator-${tag}`;
    const name = `The Operator's Road ${tag}`;
    const dataDir = tempDir("loom-operator-data-");
    const work = tempDir("loom-operator-files-");
    const exported = join(work, "road.jsonl");
    const db = () => (mode.databaseUrl ? ["--database-url", mode.databaseUrl] : ["--data-dir", dataDir]);
    /**
     * Mistakes are made with the embedded database on the command's own thread (LOOM_PGLITE_WORKER=0):
     * what is refused does not depend on the thread, and a worker's start is most of an embedded
     * command's time. The set-up, the jumps and the Ctrl-C tests keep the default, a worker.
     */
    const quick: NodeJS.ProcessEnv = mode.databaseUrl ? {} : { LOOM_PGLITE_WORKER: "0" };
    let head = "";

    /** This test's universes as the database lists them (on Postgres, others' are there too). */
    const mine = async () => {
      const run = await loom([...db(), "universes", "--json"]);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout
        .split("\n")
        .filter((line) => line.includes(tag))
        .sort();
    };

    beforeAll(async () => {
      const stores = mode.databaseUrl
        ? await createStores({ databaseUrl: mode.databaseUrl, poolSize: 1 })
        : await createStores({ dataDir: `${dataDir}/pglite` });
      try {
        await stores.accountStore.createAccount({
          id: gm,
          name: "Game Master",
          login: null,
          passwordHash: null,
          createdAt: new Date(),
        });
        const played = simulateCampaign({ seed: 2_647, turns: TURNS, universeId });
        await stores.turnStore.createUniverse({ id: universeId, name, createdBy: gm }, played.genesis);
        await appendPlayed(stores.turnStore, universeId, played.genesis, played.turns, {
          from: 0,
          snapshotEvery: 100,
          batch: 1_000,
        });
      } finally {
        await stores.turnStore.close();
      }
      const run = await loom([...db(), "export", universeId, "--out", exported]);
      expect(run.code, run.stderr).toBe(0);
      head = (await loom([...db(), "jump", universeId, String(TURNS), "--json"])).stdout;
      expect(head).toContain(`"position":${TURNS}`);
    }, 240_000);

    /** The universe is as it was: its state at its head, and this test's list. */
    async function untouched(before: string[]): Promise<void> {
      expect(await mine()).toEqual(before);
      expect((await loom([...db(), "jump", universeId, String(TURNS), "--json"])).stdout).toBe(head);
    }

    it("usage mistakes: one line saying what is wrong, exit code 2, nothing changed", async () => {
      const before = await mine();
      const commander = /^error: /;
      for (const [args, message] of [
        [["export"], commander],
        [["export", universeId, "extra"], commander],
        [["export", universeId, "--bogus"], commander],
        [["import"], commander],
        [["import", exported, "extra"], commander],
        [["verify"], commander],
        [["jump", universeId], commander],
        [["nonsense"], commander],
        [["jump", universeId, "-1"], 'a position is a whole number ≥ 0, got "-1"'],
        // Number() reads these as 1000 and 0
        [["jump", universeId, "1e3"], 'a position is a whole number ≥ 0, got "1e3"'],
        [["replay", universeId, "--from", " "], 'a position is a whole number ≥ 0, got " "'],
        [["replay", universeId, "--speed", "-1"], '--speed must be a number ≥ 0, got "-1"'],
        [["import", exported, "--name", "   "], '--name must be 1 to 200 characters, got "   "'],
        [["import", exported, "--name", "x".repeat(201)], /^loom: --name must be 1 to 200 characters/],
        [["import", exported, "--max-line-mb", "0"], /^loom: --max-line-mb must be a number of MiB/],
        [["export", universeId, "--as", "someone"], '--as must be gm or player:<id>, got "someone"'],
        [
          ["export", universeId, "--as", `player:nobody-${tag}`],
          `--as player:nobody-${tag}: this database has no player nobody-${tag}`,
        ],
        [
          ["replay", universeId, "--as", `player:nobody-${tag}`],
          `--as player:nobody-${tag}: this database has no player nobody-${tag}`,
        ],
        [
          ["export", universeId, "--server", "127.0.0.1:2567"],
          '--server must be a URL such as http://127.0.0.1:2567, got "127.0.0.1:2567"',
        ],
      ] as Array<[string[], string | RegExp]>) {
        const run = await loom([...db(), ...args], quick);
        expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
        expect(run.stderr, args.join(" ")).not.toMatch(/^\s+at /m);
        if (message === commander) expect(run.stderr, args.join(" ")).toMatch(commander);
        else expectFailure(run, 2, message);
      }
      // the environment, named as such
      expectFailure(
        await loom([...db(), "import", exported], { ...quick, LOOM_IMPORT_MAX_LINE_MB: "lots" }),
        2,
        'LOOM_IMPORT_MAX_LINE_MB must be a number of MiB above 0 and at most 500, got "lots"',
      );
      expectFailure(
        await loom([...db(), "universes"], { ...quick, LOOM_LEASE_TTL_MS: "0" }),
        2,
        'LOOM_LEASE_TTL_MS must be a whole number from 1 to 2147483647, got "0"',
      );
      await untouched(before);
    }, 240_000);

    it("a universe that is not there: the same line from every command, and no file written", async () => {
      const nowhere = `nowhere-${tag}`;
      const out = join(work, "nowhere.jsonl");
      for (const args of [
        ["export", nowhere, "--out", out],
        ["export", nowhere, "--format", "markdown"],
        ["verify", nowhere],
        ["jump", nowhere, "3"],
        ["replay", nowhere],
      ])
        expectFailure(await loom([...db(), ...args], quick), 2, `universe ${nowhere} not found`);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    }, 240_000);

    it("files that are not exports, or not there: refused at their line, nothing imported", async () => {
      const before = await mine();
      const lines = readFileSync(exported, "utf8").split("\n");
      const file = (label: string, text: string) => {
        const path = join(work, `${label}.jsonl`);
        writeFileSync(path, text);
        return path;
      };
      const folder = join(work, "a-folder.jsonl");
      mkdirSync(folder, { recursive: true });
      const missing = join(work, "missing.jsonl");
      const empty = file("empty", "");
      const cutMidLine = file("cut", readFileSync(exported, "utf8").slice(0, 50_000));
      const cutAtLine = file("cut-at-line", `${lines.slice(0, 1_000).join("\n")}\n`);
      const garbled = file("garbled", [...lines.slice(0, 500), "{not json", ...lines.slice(500)].join("\n"));
      const cutLine = readFileSync(cutMidLine, "utf8").split("\n").length;

      for (const command of ["import", "verify"]) {
        const prefix = command === "import" ? "refused " : "";
        expectFailure(
          await loom([...db(), command, missing], quick),
          2,
          command === "import" ? `no file ${missing}` : `no file ${missing}, and no universe of that id`,
        );
        expectFailure(
          await loom([...db(), command, folder], quick),
          2,
          command === "import"
            ? `${folder} is a folder; name a JSONL export file`
            : `${folder} is a folder; name a universe id or a JSONL export file`,
        );
        expectFailure(
          await loom([...db(), command, empty], quick),
          1,
          `${prefix}${empty}: line 1: the file is empty`,
        );
        expectFailure(
          await loom([...db(), command, cutMidLine], quick),
          1,
          `${prefix}${cutMidLine}: line ${cutLine}: is not JSON`,
        );
        expectFailure(await loom([...db(), command, cutAtLine], quick), 1, /ends without its end line/);
        expectFailure(
          await loom([...db(), command, garbled], quick),
          1,
          `${prefix}${garbled}: line 501: is not JSON`,
        );
      }
      await untouched(before);
    }, 240_000);

    it("an --out that cannot be written is refused before anything is read", async () => {
      const folder = join(work, "out-folder");
      mkdirSync(folder, { recursive: true });
      expectFailure(
        await loom([...db(), "export", universeId, "--out", folder], quick),
        2,
        `--out ${folder} is a folder; name the file to write`,
      );
      const nowhere = join(work, "no-such-folder", "road.jsonl");
      expectFailure(
        await loom([...db(), "export", universeId, "--out", nowhere], quick),
        2,
        `--out ${nowhere}: there is no folder ${join(work, "no-such-folder")}`,
      );
      expect(existsSync(join(work, "no-such-folder"))).toBe(false);
      expect(readdirSync(folder)).toEqual([]);
    }, 240_000);

    it("an import named as a universe that exists makes another and leaves the first as it was", async () => {
      const before = await mine();
      const run = await loom([...db(), "import", exported, "--name", name], quick);
      expect(run.code, run.stderr).toBe(0);
      const copy = /imported (\S+) /.exec(run.stdout)![1]!;
      expect(copy).not.toBe(universeId);
      const after = await mine();
      expect(after.filter((line) => !line.includes(copy))).toEqual(before);
      expect(after.filter((line) => line.includes(`"name":${JSON.stringify(name)}`))).toHaveLength(2);
      expect((await loom([...db(), "jump", universeId, String(TURNS), "--json"], quick)).stdout).toBe(head);
    }, 240_000);

    it("two imports at once: on Postgres each makes its own, on the embedded database the second is told to wait", async () => {
      const before = await mine();
      const first = spawnLoom([...db(), "--progress", "import", exported, "--name", `first ${tag}`]);
      await first.waitForStderr((text) => text.includes(`/${TURNS} turns`));
      const second = await loom([...db(), "import", exported, "--name", `second ${tag}`], quick);
      expect(await first.exited, first.stderr()).toBe(0);
      const names = (await mine())
        .filter((line) => !before.includes(line))
        .map((line) => (JSON.parse(line) as { name: string }).name);
      if (mode.databaseUrl) {
        expect(second.code, second.stderr).toBe(0);
        expect(names.sort()).toEqual([`first ${tag}`, `second ${tag}`]);
      } else {
        expectFailure(
          second,
          3,
          new RegExp(
            `^loom: cannot import: the embedded database in ${dataDir} is in use by another loom command \\(pid ${first.child.pid}, since `,
          ),
        );
        expect(names).toEqual([`first ${tag}`]);
      }
    }, 240_000);

    it("Ctrl-C in the middle of an import rolls it back, says so, and leaves the database usable", async () => {
      const before = await mine();
      const importing = spawnLoom([...db(), "--progress", "import", exported, "--name", `stopped ${tag}`]);
      // the first batch is written: the import is in the middle of its transaction
      await importing.waitForStderr((text) => text.includes(`/${TURNS} turns`));
      importing.child.kill("SIGINT");
      expect(await importing.exited, importing.stderr()).toBe(130);
      // heard at the next batch, not once the whole file is read (the database answers on a
      // thread of its own, so this one's event loop turns between batches)
      expect(importing.stderr()).not.toContain(`${TURNS}/${TURNS} turns`);
      expect(importing.stderr().trimEnd().split("\n").at(-1)).toBe(
        `loom: interrupted: nothing of ${exported} was imported (its transaction was rolled back)`,
      );
      expect(importing.stdout()).toBe("");
      // closed, not abandoned: the lock is released and the database opens again as it was
      if (!mode.databaseUrl) expect(existsSync(join(dataDir, "loom.lock"))).toBe(false);
      await untouched(before);
    }, 240_000);

    it("Ctrl-C in the middle of an export to stdout says the output is incomplete", async () => {
      const exporting = spawnLoom([...db(), "export", universeId]);
      await new Promise<void>((resolve) => exporting.child.stdout!.once("data", () => resolve()));
      exporting.child.kill("SIGINT");
      expect(await exporting.exited, exporting.stderr()).toBe(130);
      expect(exporting.stderr()).toBe(
        "loom: interrupted: the export written to stdout is incomplete (it has no end line)\n",
      );
      expect(exporting.stdout()).not.toContain('{"type":"end"');
    }, 240_000);

    it("Ctrl-C in the middle of an export to a file leaves no file, whole or partial", async () => {
      const out = join(work, "stopped.jsonl");
      const exporting = spawnLoom([...db(), "--progress", "export", universeId, "--out", out]);
      await exporting.waitForStderr((text) => text.includes(`/${TURNS} turns`));
      exporting.child.kill("SIGINT");
      expect(await exporting.exited, exporting.stderr()).toBe(130);
      expect(exporting.stderr()).not.toMatch(/^\s+at /m);
      expect(exporting.stderr().trimEnd().split("\n").at(-1)).toBe(
        `loom: interrupted: ${out} was not written`,
      );
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    }, 240_000);

    it("Ctrl-C stops a verify, of a universe or of a file", async () => {
      for (const target of [universeId, exported]) {
        const run = await loomStopped([...db(), "--progress", "verify", target], {}, (text) =>
          /\d+\/\d+ turns/.test(text),
        );
        expect(run.code, run.stderr).toBe(130);
        expect(run.stderr).toContain(`loom: interrupted: ${target} was not verified to its end\n`);
        expect(run.stdout).toBe("");
      }
    }, 240_000);

    it("a reader that goes away (loom export | head, loom replay | head) ends the command quietly", async () => {
      const exporting = spawnLoom([...db(), "export", universeId]);
      await new Promise<void>((resolve) => exporting.child.stdout!.once("data", () => resolve()));
      exporting.child.stdout!.destroy();
      expect(await exporting.exited).toBe(141);
      expect(exporting.stderr()).toBe("");
      // a replay too, at a turn a second: the reader is gone before its next turn
      const replaying = spawnLoom([...db(), "replay", universeId, "--speed", "1"]);
      await new Promise<void>((resolve) => replaying.child.stdout!.once("data", () => resolve()));
      replaying.child.stdout!.destroy();
      expect(await replaying.exited).toBe(141);
      expect(replaying.stderr()).toBe("");
    }, 240_000);

    // backups are of the embedded database's folder
    if (mode.databaseUrl === null)
      it("backup and restore: a file that is no backup leaves the database as it was", async () => {
        const before = await mine();
        const folder = join(work, "backups");
        mkdirSync(folder, { recursive: true });
        expectFailure(
          await loom([...db(), "backup", folder], quick),
          2,
          `backup ${folder} is a folder; name the file to write`,
        );
        expectFailure(
          await loom([...db(), "restore", folder], quick),
          2,
          `${folder} is a folder; name a file written by loom backup`,
        );
        // text, a gzip of something else, and a backup cut short
        const backup = join(work, "whole.tar.gz");
        expect((await loom([...db(), "backup", backup], quick)).code).toBe(0);
        const whole = readFileSync(backup);
        for (const [name, bytes] of [
          ["not-a-backup.tar.gz", Buffer.from("this is not a database\n")],
          ["an-export.jsonl.gz", gzipSync('{"type":"header"}\n')],
          ["cut-short.tar.gz", whole.subarray(0, Math.floor(whole.length / 2))],
        ] as const) {
          const notABackup = join(work, name);
          writeFileSync(notABackup, bytes);
          expectFailure(
            await loom([...db(), "restore", notABackup, "--force"], quick),
            1,
            new RegExp(
              `^loom: ${notABackup} could not be restored \\(.*\\); the database in ${dataDir}/pglite is as it was\n$`,
            ),
          );
          expect(readdirSync(dataDir).filter((entry) => entry.startsWith("pglite"))).toEqual(["pglite"]);
        }
        await untouched(before);
      }, 240_000);
  });
}
