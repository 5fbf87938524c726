import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { log } from "../log.ts";
import { installNativeSha256 } from "../native-sha256.ts";
import { postgresPool, type PoolOptions } from "./postgres-pool.ts";
import { followTransactions } from "./pglite-raw.ts";
import { DrizzleTurnStore } from "./drizzle-turn-store.ts";
import { AppendThread } from "./append-thread.ts";
import { DrizzleAccountStore } from "./accounts.ts";
import type { AccountStore } from "../auth/account-store.ts";
import type { Db } from "./rows.ts";
import * as schema from "./schema.ts";
import type { TurnStore } from "./turn-store.ts";
import { Memberships } from "./memberships.ts";
import type { MembershipStore } from "./membership-store.ts";
import { IdempotencyKeys, type IdempotencyStore } from "./idempotency-store.ts";
import { DrizzleLeaseLedger, type LeaseLedger } from "./lease-ledger.ts";
import { SavePoints, type SavePointStore } from "./save-points.ts";
import type { SearchIndexOptions } from "./search-index.ts";
import { ChangeFeed } from "./timeline-changes.ts";
import { TimelineNotices, type TimelineNoticesOptions } from "./timeline-notices.ts";
import { watchedMemberships, watchedTurnStore } from "./watched-stores.ts";

export * from "./turn-store.ts";
export type { MembershipStore } from "./membership-store.ts";
export type { IdempotencyStore } from "./idempotency-store.ts";
export type { LeaseLedger, LeaseRecord } from "./lease-ledger.ts";
export type { SavePointStore } from "./save-points.ts";

/** The ports one database serves. Closing the TurnStore closes the database. */
export interface Stores {
  turnStore: TurnStore;
  accountStore: AccountStore;
  memberships: MembershipStore;
  idempotency: IdempotencyStore;
  /** The fencing tokens' high-water mark (lease-ledger.ts). */
  leases: LeaseLedger;
  savePoints: SavePointStore;
}

/** `poolSize` and `timeoutMs` are the Postgres pool's. */
export interface TurnStoreOptions extends PoolOptions {
  /** Postgres (postgres.js) when given; otherwise the embedded PGlite. */
  databaseUrl?: string;
  /** PGlite's data directory; `./data/pglite` by default. */
  dataDir?: string;
  /** PGlite in memory, for tests. */
  inMemory?: boolean;
  /** The full-text indexer behind the log (search-index.ts). */
  searchIndex?: SearchIndexOptions;
  /** Migrations from another folder than `migrations/` (a test of an upgrade, with the newest left out). */
  migrationsFolder?: string;
  /**
   * Postgres: tell the TurnStore's `watchChanges` listeners of every change to the timeline, this
   * process's writes and other processes' (heard on a connection of its own), as a server needs
   * for the copies it answers scrubs from. A command-line tool has no use for it.
   */
  watchTimeline?: boolean | TimelineNoticesOptions;
  /** Postgres: make group commits on a thread of their own (append-thread.ts), as a server does. */
  appendThread?: boolean;
}

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

/** Any number from the same 64-bit space would do; it only has to be the same for every process. */
const MIGRATION_LOCK = 0x4c6f6f6d; // "Loom"

/** An open, migrated database: what a TurnStore (or a measurement that needs raw SQL) runs on. */
export interface OpenDatabase {
  driver: TurnStore["driver"];
  db: Db;
  /** Raw SQL for operational checks (sizes, plans), rows as plain objects on either driver. */
  query<T>(text: string): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * Opens the store and applies the migrations in `migrations/` (the only thing that ever creates
 * tables). On Postgres several processes may start at once, so they migrate one at a time under
 * an advisory lock, on a connection of their own.
 */
export async function createTurnStore(options: TurnStoreOptions = {}): Promise<TurnStore> {
  return (await createStores(options)).turnStore;
}

export async function createStores(options: TurnStoreOptions = {}): Promise<Stores> {
  const database = await openDatabase(options);
  const clock = () => new Date();
  const stores = {
    accountStore: new DrizzleAccountStore(database.db),
    idempotency: new IdempotencyKeys(database.db, clock),
    leases: new DrizzleLeaseLedger(database.db),
    savePoints: new SavePoints(database.db, clock),
  };
  const memberships = new Memberships(database.db, clock);
  const appendThread =
    options.databaseUrl && options.appendThread
      ? new AppendThread({ databaseUrl: options.databaseUrl, timeoutMs: options.timeoutMs })
      : null;
  const turnStoreClosing = (close: () => Promise<void>) =>
    new DrizzleTurnStore(database.driver, database.db, close, clock, options.searchIndex, appendThread);
  if (options.databaseUrl && options.watchTimeline) {
    const feed = new ChangeFeed();
    const notices = new TimelineNotices(
      options.databaseUrl,
      feed,
      options.watchTimeline === true ? {} : options.watchTimeline,
    );
    await notices.start();
    const turnStore = turnStoreClosing(async () => {
      await notices.close();
      await database.close();
    });
    return {
      ...stores,
      turnStore: watchedTurnStore(turnStore, feed, notices),
      memberships: watchedMemberships(memberships, feed),
    };
  }
  return { ...stores, turnStore: turnStoreClosing(() => database.close()), memberships };
}

export async function openDatabase(options: TurnStoreOptions = {}): Promise<OpenDatabase> {
  installNativeSha256();
  if (options.databaseUrl) {
    const migrator = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
      const folder = options.migrationsFolder ?? migrationsFolder;
      const pending = await migrationsToApply(folder, (text) => migrator.unsafe(text));
      await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder: folder });
      logMigrated(pending);
    } finally {
      await migrator.end();
    }
    const client = postgresPool(options.databaseUrl, options);
    return {
      driver: "postgres",
      db: drizzlePostgres({ client, schema }),
      query: async <T>(text: string) => (await client.unsafe(text)) as unknown as T[],
      close: () => client.end(),
    };
  }
  const dataDir = options.dataDir ?? "./data/pglite";
  // PGlite creates its own directory but not the ones above it; the data folder is the
  // operator's alone (it holds the database and the generated secret).
  if (!options.inMemory) mkdirSync(dirname(resolve(dataDir)), { recursive: true, mode: 0o700 });
  const folder = options.migrationsFolder ?? migrationsFolder;
  const fresh = options.inMemory || !existsSync(join(dataDir, "PG_VERSION"));
  const imageDir = fresh ? process.env.LOOM_PGLITE_IMAGE_DIR : undefined;
  const image = imageDir ? migratedImage(imageDir, folder) : null;
  const loadDataDir = image && existsSync(image) ? new Blob([readFileSync(image)]) : undefined;
  const startParams = pgliteStartParams();
  const client = options.inMemory
    ? new PGlite({ loadDataDir, startParams })
    : new PGlite(dataDir, { loadDataDir, startParams });
  followTransactions(client);
  const db = drizzlePglite({ client, schema });
  try {
    const pending = await migrationsToApply(
      folder,
      async (text) => (await client.query<Record<string, unknown>>(text)).rows,
    );
    await migratePglite(db, { migrationsFolder: folder });
    logMigrated(pending);
  } catch (error) {
    // a refused database is left as it was found, and its folder free for the newer build
    await client.close().catch(() => undefined);
    throw error;
  }
  if (image && !existsSync(image)) await keepImage(client, image);
  return {
    driver: "pglite",
    db,
    query: async <T>(text: string) => (await client.query<T>(text)).rows,
    close: () => client.close(),
  };
}

/** A migration as `migrations/meta/_journal.json` lists it. */
interface JournalEntry {
  tag: string;
  /** When drizzle-kit generated it (ms): drizzle's migrator records it as the row's `created_at`. */
  when: number;
}

/**
 * Refused at start: the database holds migrations newer than any this build has. drizzle's
 * migrator would apply nothing and this build's queries would meet a schema they were not written
 * for, failing request by request with errors that name no cause.
 */
export class NewerDatabaseError extends Error {
  constructor(newest: number, unknown: number, knownUpTo: string) {
    const migrations = unknown === 1 ? "1 migration" : `${unknown} migrations`;
    super(
      `this database was migrated by a newer Loom (migration from ${new Date(newest).toISOString().slice(0, 10)}, ` +
        `${migrations} this build does not know); this build knows up to ${knownUpTo}: ` +
        "run the newer build, or restore a backup made before the upgrade",
    );
    this.name = "NewerDatabaseError";
  }
}

/**
 * The journal's migrations drizzle's migrator is about to apply, read from the table it records
 * them in (`drizzle.__drizzle_migrations`, the same on Postgres and PGlite): those generated after
 * the newest one recorded, as it decides. Throws NewerDatabaseError when a recorded one is newer
 * than every migration of the journal.
 */
export async function migrationsToApply(
  folder: string,
  query: (text: string) => Promise<readonly Record<string, unknown>[]>,
): Promise<JournalEntry[]> {
  const { entries } = JSON.parse(readFileSync(join(folder, "meta/_journal.json"), "utf8")) as {
    entries: JournalEntry[];
  };
  const table = await query(
    "select 1 from pg_tables where schemaname = 'drizzle' and tablename = '__drizzle_migrations'",
  );
  const recorded =
    table.length === 0
      ? []
      : (await query("select created_at from drizzle.__drizzle_migrations")).map((row) =>
          Number(row.created_at),
        );
  const newestKnown = entries.reduce<JournalEntry | null>(
    (newest, entry) => (newest && newest.when >= entry.when ? newest : entry),
    null,
  );
  const unknown = recorded.filter((when) => when > (newestKnown?.when ?? -Infinity));
  if (unknown.length > 0)
    throw new NewerDatabaseError(Math.max(...unknown), unknown.length, newestKnown?.tag ?? "no migration");
  const newestRecorded = Math.max(-Infinity, ...recorded);
  return entries.filter((entry) => entry.when > newestRecorded);
}

/** Once per start that changed the schema: an operator reading the log sees when it did. */
function logMigrated(applied: readonly JournalEntry[]): void {
  if (applied.length > 0) log.info(`database migrated: ${applied.map((entry) => entry.tag).join(", ")}`);
}

/**
 * `LOOM_PGLITE_SHARED_BUFFERS` (a Postgres size such as `16MB`; PGlite's own is 128MB), which the
 * test suite sets: PGlite clears its shared buffers as it starts, about a third of the CPU an
 * embedded database takes to open, and the suite opens hundreds of small ones.
 */
function pgliteStartParams(): string[] | undefined {
  const sharedBuffers = process.env.LOOM_PGLITE_SHARED_BUFFERS;
  if (!sharedBuffers) return undefined;
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers))
    throw new Error(`LOOM_PGLITE_SHARED_BUFFERS must be a size such as 16MB, got "${sharedBuffers}"`);
  // on the command line, after PGlite's own: its postgresqlconf option replaces the whole file
  return [...PGlite.defaultStartParams, "-c", `shared_buffers=${sharedBuffers}`];
}

/**
 * Where a new database (in memory, or in an empty data folder) can start from an image of an
 * empty, migrated one rather than run initdb and every migration (seconds of CPU each):
 * `LOOM_PGLITE_IMAGE_DIR`, which the test suite sets, as it opens hundreds. The image's name holds
 * a hash of the migrations and of PGlite's build (its entry file's size and time), so a changed
 * migration or PGlite makes a new one. Worked out once per folder: a process opens many.
 */
const imageNames = new Map<string, string>();
function migratedImage(imageDir: string, folder: string): string {
  const key = `${imageDir}\0${folder}`;
  let name = imageNames.get(key);
  if (name === undefined) {
    const pglite = statSync(fileURLToPath(import.meta.resolve("@electric-sql/pglite")));
    const hash = createHash("sha256").update(`pglite ${pglite.size}-${pglite.mtimeMs}`);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true })
        .flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]))
        .sort();
    for (const file of files(folder)) hash.update(file.slice(folder.length)).update(readFileSync(file));
    name = join(imageDir, `migrated-${hash.digest("hex").slice(0, 16)}.tar`);
    imageNames.set(key, name);
  }
  return name;
}

/** Writes the image of a just-migrated database; whole or not at all, as others may read it at once. */
async function keepImage(client: PGlite, image: string): Promise<void> {
  const dump = await client.dumpDataDir("none");
  mkdirSync(dirname(image), { recursive: true });
  const partial = `${image}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, image);
}
