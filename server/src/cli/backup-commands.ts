import type { Command } from "commander";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { createStores, migrationsFolder, migrationsToApply } from "../persist/index.ts";
import * as schema from "../persist/schema.ts";
import { safeMessage } from "../describe-error.ts";
import { CliError, cliConfig, lockEmbedded, persistLogged, type GlobalOptions, type Io } from "./context.ts";
import { checkOutputFile } from "./output.ts";

/**
 * The whole embedded database as one file (PGlite's dumpDataDir: a gzipped tar of its data
 * directory), and back. Postgres has its own tools (pg_dump, pg_restore) and is refused here.
 * The data folder's generated secret and write-ahead log are not part of the file: the turns the
 * log holds are written to the database before it is copied, and a restore moves the log aside.
 */
export function addBackupCommands(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command("backup")
    .description("write the whole embedded database (PGlite) to a file; stop the server first")
    .argument("<file>", "the backup to write (.tar.gz)")
    .action(async (file: string) => {
      const config = cliConfig(io, global());
      if (config.databaseUrl)
        throw new CliError("backup copies the embedded database; for Postgres use pg_dump");
      const dir = `${config.dataDir}/pglite`;
      if (!(await exists(dir))) throw new CliError(`no embedded database in ${config.dataDir}`);
      await checkOutputFile(file, "backup");
      const lock = await lockEmbedded(config, "back up");
      try {
        // the turns a stopped server left only in its write-ahead log go into the backup too
        if (await exists(`${config.dataDir}/wal`)) {
          const stores = await createStores({ dataDir: dir });
          try {
            await persistLogged(io, config.dataDir, stores.turnStore);
          } finally {
            await stores.turnStore.close();
          }
        }
        const db = new PGlite(dir);
        try {
          await db.waitReady;
          const dump = await db.dumpDataDir("gzip");
          // whole or not at all: a file cut short by a full disk or a kill would look like a backup
          const partial = `${file}.partial`;
          await writeFile(partial, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 }).catch(
            async (error: unknown) => {
              await rm(partial, { force: true });
              throw error;
            },
          );
          await rename(partial, file);
          io.stdout.write(`backed up ${dir} to ${file} (${dump.size} bytes)\n`);
        } finally {
          await db.close();
        }
      } finally {
        await lock.release();
      }
    });

  program
    .command("restore")
    .description("replace the embedded database with a backup; the one there is kept beside it with --force")
    .argument("<file>", "a file written by loom backup")
    .option("--force", "move an existing database aside (pglite.replaced-<time>) instead of refusing")
    .action(async (file: string, flags: { force?: boolean }) => {
      const config = cliConfig(io, global());
      if (config.databaseUrl)
        throw new CliError("restore loads the embedded database; for Postgres use pg_restore");
      if ((await stat(file).catch(() => null))?.isDirectory())
        throw new CliError(`${file} is a folder; name a file written by loom backup`);
      const bytes = await readFile(file).catch(() => {
        throw new CliError(`no file ${file}`);
      });
      const lock = await lockEmbedded(config, "restore");
      try {
        const dir = `${config.dataDir}/pglite`;
        const present = await exists(dir);
        if (present && !flags.force)
          throw new CliError(
            `${dir} already holds a database; pass --force to move it aside and restore over it`,
          );
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        // loaded beside it first: a file that is no backup leaves the database where it was
        const staged = `${dir}.restoring-${stamp}`;
        const universes = await load(bytes, staged).catch(async (error: unknown) => {
          await rm(staged, { recursive: true, force: true });
          throw new CliError(
            `${file} could not be restored (${safeMessage(error)}); ${present ? `the database in ${dir} is as it was` : "nothing was written"}`,
            1,
          );
        });
        // the database set aside gets what its log alone held (a server killed between two persist
        // ticks): kept whole, should it be wanted back
        if (present && (await exists(`${config.dataDir}/wal`))) {
          const stores = await createStores({ dataDir: dir });
          try {
            await persistLogged(io, config.dataDir, stores.turnStore);
          } finally {
            await stores.turnStore.close();
          }
        }
        const movedTo = present ? `${dir}.replaced-${stamp}` : null;
        if (movedTo) await rename(dir, movedTo);
        // the log's turns follow the database it was written beside, not the backup: replayed onto
        // it they would leave a gap no universe opens past; kept beside it, with that database
        const wal = `${config.dataDir}/wal`;
        const walMovedTo = (await exists(wal)) ? `${wal}.replaced-${stamp}` : null;
        if (walMovedTo) await rename(wal, walMovedTo);
        await rename(staged, dir);
        const aside = [
          movedTo && `the previous database is in ${movedTo}`,
          walMovedTo && `its write-ahead log in ${walMovedTo}`,
        ].filter(Boolean);
        io.stdout.write(
          `restored ${file} into ${dir}: ${universes} universes${aside.length > 0 ? `; ${aside.join(", ")}` : ""}\n`,
        );
      } finally {
        await lock.release();
      }
    });
}

/** A backup loaded into `dir`, brought up to this Loom's schema; its universes counted. */
async function load(bytes: Buffer<ArrayBuffer>, dir: string): Promise<number> {
  // the tar as checked: PGlite would unpack the gzip again
  const db = new PGlite(dir, { loadDataDir: new Blob([checkedTar(bytes)]) });
  try {
    // a backup of an older Loom is brought up to this one's schema; a newer Loom's is refused,
    // as a start on it would be
    await migrationsToApply(
      migrationsFolder,
      async (text) => (await db.query<Record<string, unknown>>(text)).rows,
    );
    await migrate(drizzle({ client: db, schema }), { migrationsFolder });
    const { rows } = await db.query<{ n: number }>("select count(*)::int as n from universes");
    return rows[0]?.n ?? 0;
  } finally {
    await db.close().catch(() => undefined);
  }
}

/**
 * The tar inside a backup; refuses bytes that are not a whole gzipped tar, as loom backup writes:
 * PGlite unpacks a gzip on a stream of its own, whose failure (a file cut short, a gzip of
 * something else) no caller can catch.
 */
function checkedTar(bytes: Buffer): Buffer<ArrayBuffer> {
  let tar: Buffer<ArrayBuffer>;
  try {
    tar = gunzipSync(bytes);
  } catch (error) {
    throw new Error(`not a whole gzip file: ${error instanceof Error ? error.message : String(error)}`);
  }
  // a tar's first header names its format at offset 257
  if (tar.length < 512 || tar.toString("latin1", 257, 262) !== "ustar")
    throw new Error("not a tar archive inside its gzip");
  return tar;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
