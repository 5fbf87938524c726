import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { DrizzleTurnStore } from "./drizzle-turn-store.ts";
import * as schema from "./schema.ts";
import type { TurnStore } from "./turn-store.ts";

export * from "./turn-store.ts";

export interface TurnStoreOptions {
  /** Postgres (postgres.js) when given; otherwise the embedded PGlite. */
  databaseUrl?: string;
  /** PGlite's data directory; `./data/pglite` by default. */
  dataDir?: string;
  /** PGlite in memory, for tests. */
  inMemory?: boolean;
  /** Connections in the Postgres pool. */
  poolSize?: number;
}

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

/** Any number from the same 64-bit space would do; it only has to be the same for every process. */
const MIGRATION_LOCK = 0x4c6f6f6d; // "Loom"

/**
 * Opens the store and applies the migrations in `migrations/` (the only thing that ever creates
 * tables). On Postgres several processes may start at once, so they migrate one at a time under
 * an advisory lock, on a connection of their own.
 */
export async function createTurnStore(options: TurnStoreOptions = {}): Promise<TurnStore> {
  if (options.databaseUrl) {
    const migrator = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder });
    } finally {
      await migrator.end();
    }
    const client = postgres(options.databaseUrl, { max: options.poolSize ?? 10, onnotice: () => {} });
    const db = drizzlePostgres({ client, schema });
    return new DrizzleTurnStore("postgres", db, () => client.end());
  }
  const client = options.inMemory ? new PGlite() : new PGlite(options.dataDir ?? "./data/pglite");
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder });
  return new DrizzleTurnStore("pglite", db, () => client.close());
}
