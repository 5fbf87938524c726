import type { Command } from "commander";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { migrationsFolder } from "../persist/index.ts";
import * as schema from "../persist/schema.ts";
import { CliError, cliConfig, lockEmbedded, type GlobalOptions, type Io } from "./context.ts";

/**
 * The whole embedded database as one file (PGlite's dumpDataDir: a gzipped tar of its data
 * directory), and back. Postgres has its own tools (pg_dump, pg_restore) and is refused here.
 * The data folder's generated secret and write-ahead log are not part of the file.
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
      const lock = await lockEmbedded(config, "back up");
      try {
        const db = new PGlite(dir);
        try {
          await db.waitReady;
          const dump = await db.dumpDataDir("gzip");
          await writeFile(file, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
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
      const bytes = await readFile(file).catch(() => {
        throw new CliError(`no file ${file}`);
      });
      const lock = await lockEmbedded(config, "restore");
      try {
        const dir = `${config.dataDir}/pglite`;
        let movedTo: string | null = null;
        if (await exists(dir)) {
          if (!flags.force)
            throw new CliError(
              `${dir} already holds a database; pass --force to move it aside and restore over it`,
            );
          movedTo = `${dir}.replaced-${new Date().toISOString().replace(/[:.]/g, "-")}`;
          await rename(dir, movedTo);
        }
        const db = new PGlite(dir, { loadDataDir: new Blob([bytes]) });
        try {
          // a backup of an older Loom is brought up to this one's schema
          await migrate(drizzle({ client: db, schema }), { migrationsFolder });
          const { rows } = await db.query<{ n: number }>("select count(*)::int as n from universes");
          io.stdout.write(
            `restored ${file} into ${dir}: ${rows[0]?.n ?? 0} universes${movedTo ? `; the previous database is in ${movedTo}` : ""}\n`,
          );
        } finally {
          await db.close();
        }
      } finally {
        await lock.release();
      }
    });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
