import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import postgres from "postgres";

/**
 * Postgres and Redis instances of a test's own, on spare ports, for fault injection: they are
 * stopped, killed, paused and restarted, which the shared ones (5432, 6379) never are.
 */

const run = promisify(execFile);

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RedisInstance {
  url: string;
  port: number;
  /** Ends the server (SIGKILL by default): with `appendonly no` its data is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (empty unless it persists). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs, connections open, answering nothing. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startRedis(port: number, ...config: string[]): Promise<RedisInstance> {
  const dir = mkdtempSync(join(tmpdir(), "loom-fault-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } finally {
      probe.disconnect();
    }
  };
  const instance: RedisInstance = {
    url,
    port,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return; // running already
      const started = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          ...config,
        ],
        { stdio: "ignore" },
      );
      child = started;
      await until(ping, 10_000, `redis on ${port}`);
      // a server left on the port by someone else answers the ping while ours failed to bind
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (started.exitCode !== null)
        throw new Error(`redis-server could not listen on ${port}: port in use?`);
    },
    async kill(signal = "SIGKILL") {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise((resolve) => current.once("exit", resolve));
      current.kill("SIGCONT");
      current.kill(signal);
      await exited;
      child = null;
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async close() {
      await instance.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}

export interface PostgresInstance {
  url: string;
  port: number;
  /** Stops the server (`immediate`: like a crash; clients see their connections drop). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT on the postmaster and its backends: a database that hangs. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

function pgBin(name: string): string {
  for (const version of ["17", "16", "15", "14"]) {
    const path = `/usr/lib/postgresql/${version}/bin/${name}`;
    if (existsSync(path)) return path;
  }
  return name;
}

/** initdb refuses to run as root: the cluster then belongs to the `postgres` user. */
async function asPostgresUser(file: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", file, ...args]);
  else await run(file, args);
}

/** A fresh cluster on `port` (trust auth, no fsync: only faults are tested here, not disks). */
export async function startPostgres(port: number): Promise<PostgresInstance> {
  const dir = mkdtempSync(join(tmpdir(), "loom-fault-pg-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: group } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(group.trim()));
  }
  const data = join(dir, "data");
  await asPostgresUser(pgBin("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  // this cluster's postmaster (from its pid file) and its children only: never another cluster's
  const pids = async (): Promise<number[]> => {
    const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    const { stdout } = await run("pgrep", ["-P", String(postmaster)]).catch(() => ({ stdout: "" }));
    return [postmaster, ...stdout.split("\n").map(Number)].filter((pid) => pid > 0);
  };
  const instance: PostgresInstance = {
    url,
    port,
    async start() {
      const status = await asPostgresUser(pgBin("pg_ctl"), ["-D", data, "status"]).then(
        () => "running",
        () => "stopped",
      );
      if (status === "running") return;
      await asPostgresUser(pgBin("pg_ctl"), [
        "-D",
        data,
        "-o",
        options,
        "-l",
        join(dir, "log"),
        "-w",
        "start",
      ]);
      await until(
        async () => {
          const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
          try {
            await sql`select 1`;
            return true;
          } finally {
            await sql.end({ timeout: 1 });
          }
        },
        15_000,
        `postgres on ${port}`,
      );
    },
    async stop(mode = "immediate") {
      await asPostgresUser(pgBin("pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]).catch(() => undefined);
    },
    async pause() {
      for (const pid of await pids()) process.kill(pid, "SIGSTOP");
    },
    async resume() {
      for (const pid of await pids()) process.kill(pid, "SIGCONT");
    },
    async close() {
      await instance.resume().catch(() => undefined);
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
