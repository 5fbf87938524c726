import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { captureLog } from "../log.ts";
import { migrationsFolder, openDatabase, type TurnStoreOptions } from "./index.ts";
import { loom } from "../../../test/support/cli.ts";
import { logEntries, spawnServer, tempDir, TEST_SECRET, testPort } from "../../../test/support/server.ts";

/**
 * A database migrated by a newer Loom is refused at start, in one line, before anything reads it;
 * one an older build left is migrated, and the log says which migrations were applied. The older
 * build is this one with its journal cut before the newest migration; the newer build's mark is
 * the migrations table's row for a migration this build does not have.
 */

const databaseUrl = process.env.DATABASE_URL;
const root = resolve(import.meta.dirname, "../../..");
const scratch = tempDir("loom-migration-guard-");

interface JournalEntry {
  tag: string;
  when: number;
}
const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta/_journal.json"), "utf8")) as {
  entries: JournalEntry[];
};
const newest = journal.entries.at(-1)!;
const beforeNewest = journal.entries.at(-2)!;

/** This build as the one before it: the journal without its newest migration. */
function olderBuild(): string {
  const folder = join(scratch, `migrations-${randomUUID()}`);
  mkdirSync(join(folder, "meta"), { recursive: true });
  const entries = journal.entries.slice(0, -1);
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries }));
  for (const entry of entries)
    copyFileSync(join(migrationsFolder, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
  return folder;
}

const refusal = (date: string, unknown: string, knownUpTo: string) =>
  `this database was migrated by a newer Loom (migration from ${date}, ${unknown} this build does not know); ` +
  `this build knows up to ${knownUpTo}: run the newer build, or restore a backup made before the upgrade`;

const day = (when: number) => new Date(when).toISOString().slice(0, 10);

/** What this build says of a database the next build migrated: its newest migration is unknown here. */
const olderRefusal = refusal(day(newest.when), "1 migration", beforeNewest.tag);

/** Two migrations a month past this build's newest, as a build yet to come would record them. */
const FUTURE = [newest.when + 86_400_000, newest.when + 30 * 86_400_000];
const futureRefusal = refusal(day(FUTURE[1]!), "2 migrations", newest.tag);

async function recordFuture(options: TurnStoreOptions): Promise<void> {
  const database = await openDatabase(options);
  try {
    for (const when of FUTURE)
      await database.query(
        `insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', ${when})`,
      );
  } finally {
    await database.close();
  }
}

/** The `database migrated` lines logged while `fn` ran. */
async function migratedLines(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const restore = captureLog((line) => lines.push(line), "info");
  try {
    await fn();
  } finally {
    restore();
  }
  return lines
    .map((line) => (JSON.parse(line) as { msg: string }).msg)
    .filter((msg) => msg.startsWith("database migrated"));
}

async function opens(options: TurnStoreOptions): Promise<void> {
  await (await openDatabase(options)).close();
}

/** One Postgres database of its own, dropped after. */
const made: string[] = [];
async function freshPostgres(): Promise<string> {
  const name = `loom_migration_guard_${randomUUID().replace(/-/g, "")}`;
  const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  made.push(name);
  const url = new URL(databaseUrl!);
  url.pathname = `/${name}`;
  return url.href;
}
afterAll(async () => {
  if (made.length === 0) return;
  const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  try {
    for (const name of made) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

const drivers = [
  {
    name: "pglite",
    available: true,
    fresh: async () => ({ dataDir: join(tempDir("loom-guard-db-"), "pglite") }),
  },
  {
    name: "postgres",
    available: Boolean(databaseUrl),
    fresh: async () => ({ databaseUrl: await freshPostgres() }),
  },
];

describe.each(drivers)("openDatabase on $name", ({ available, fresh }) => {
  it.skipIf(!available)("refuses a database the next build migrated, and leaves it as it was", async () => {
    const database = await fresh();
    await opens(database);
    await expect(openDatabase({ ...database, migrationsFolder: olderBuild() })).rejects.toThrow(olderRefusal);
    // the build that migrated it opens it as before, with nothing to apply
    expect(await migratedLines(() => opens(database))).toEqual([]);
  });

  it.skipIf(!available)(
    "refuses one with migrations recorded past every one it knows, counting them",
    async () => {
      const database = await fresh();
      await recordFuture(database);
      await expect(openDatabase(database)).rejects.toThrow(futureRefusal);
    },
  );

  it.skipIf(!available)(
    "migrates one an older build left, and logs which migrations it applied, once",
    async () => {
      const database = await fresh();
      await opens({ ...database, migrationsFolder: olderBuild() });
      expect(await migratedLines(() => opens(database))).toEqual([`database migrated: ${newest.tag}`]);
      expect(await migratedLines(() => opens(database))).toEqual([]);
    },
  );
});

/** `npm start`'s entry point, expected to refuse: its exit code and what it wrote. */
async function startRefused(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "server/src/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: "",
      REDIS_URL: "",
      LOOM_SECRET: TEST_SECRET,
      PORT: String(testPort(2638)),
      LOOM_WEB_BUILD: "off",
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
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise<number | null>((done) => child.once("close", (exit) => done(exit)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

describe("a server and the command line on a database a newer Loom migrated", () => {
  it("embedded: the server exits 1 and loom 2, each with the one line", async () => {
    const dataDir = tempDir("loom-guard-data-");
    await recordFuture({ dataDir: join(dataDir, "pglite") });
    const run = await startRefused({ LOOM_DATA_DIR: dataDir });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(logEntries(run.stdout).map((entry) => [entry.level, entry.msg])).toEqual([
      ["error", `Loom could not start: ${futureRefusal}`],
    ]);
    const command = await loom(["--data-dir", dataDir, "universes"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toBe(
      `loom: cannot open the embedded database in ${dataDir}/pglite: ${futureRefusal}\n`,
    );
  }, 120_000);

  it.skipIf(!databaseUrl)(
    "postgres: the same",
    async () => {
      const url = await freshPostgres();
      await recordFuture({ databaseUrl: url });
      const run = await startRefused({ DATABASE_URL: url, LOOM_DATA_DIR: tempDir("loom-guard-data-") });
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(logEntries(run.stdout).map((entry) => [entry.level, entry.msg])).toEqual([
        ["error", `Loom could not start: ${futureRefusal}`],
      ]);
      const command = await loom(["--database-url", url, "universes"]);
      expect(command.code).toBe(2);
      expect(command.stderr).toBe(
        `loom: cannot open the Postgres database (DATABASE_URL): ${futureRefusal}\n`,
      );
    },
    120_000,
  );

  it("a server started on what an older build left says which migrations it applied", async () => {
    const dataDir = tempDir("loom-guard-data-");
    await opens({ dataDir: join(dataDir, "pglite"), migrationsFolder: olderBuild() });
    const server = await spawnServer(
      {
        DATABASE_URL: "",
        REDIS_URL: "",
        LOOM_DATA_DIR: dataDir,
        LOOM_LOG_LEVEL: "info",
        LOOM_LOG_FORMAT: "json",
      },
      2638,
    );
    try {
      expect(server.logs().filter((entry) => entry.msg.startsWith("database migrated"))).toMatchObject([
        { level: "info", msg: `database migrated: ${newest.tag}` },
      ]);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
