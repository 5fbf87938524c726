import { mkdir, rm, rmdir, stat } from "node:fs/promises";
import { ConfigError, loadConfig, type LoomConfig } from "../config.ts";
import { DataDirLockedError, lockDataDir, type DataDirLock } from "../data-dir-lock.ts";
import { safeMessage } from "../describe-error.ts";
import { checkDatabase } from "../service-checks.ts";
import type { Audience } from "../export/index.ts";
import { createStores, type Stores } from "../persist/index.ts";
import { createWorkerStores } from "../persist/worker-store.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import { FileLiveStore } from "../live/file.ts";
import { RedisLiveStore } from "../live/redis.ts";
import { persistRecoveredTurns } from "../live/persist-recovered.ts";

/** A failure the command line reports in one sentence, with its exit code (2: usage or setup). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Exit code of a command stopped by Ctrl-C or SIGTERM, as a shell reports one ended by SIGINT. */
export const INTERRUPTED_EXIT = 130;

/**
 * Thrown where a long job notices it was asked to stop; the command catches it and says what was
 * left undone (an import rolled back, an export's file not written).
 */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

export function interrupted(what: string): CliError {
  return new CliError(`interrupted: ${what}`, INTERRUPTED_EXIT);
}

export function stopIfInterrupted(io: Io): void {
  if (io.signal?.aborted) throw new Interrupted();
}

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Waits between turns of a narrative replay; returns early once `signal` is aborted. */
  sleep: (ms: number) => Promise<void>;
  /**
   * Aborted by Ctrl-C (SIGINT) or SIGTERM. Long jobs stop at their next step and undo what they
   * can; the rest finish first, so that the embedded database is closed, never abandoned.
   */
  signal?: AbortSignal;
}

export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  progress?: boolean;
}

/** The server's configuration (config.ts) from the environment, with the command line's overrides. */
export function cliConfig(io: Io, global: GlobalOptions): LoomConfig {
  const env = { ...io.env };
  // a folder named on the command line is an embedded database to use: DATABASE_URL would be used
  // instead, and the command would read or write another database than the one asked for
  if (global.dataDir && !global.databaseUrl && env.DATABASE_URL)
    throw new CliError(
      `--data-dir names an embedded database, but DATABASE_URL is set, and the command would use that Postgres database instead: unset DATABASE_URL to use ${global.dataDir}, or leave out --data-dir`,
    );
  if (global.dataDir) env.LOOM_DATA_DIR = global.dataDir;
  if (global.databaseUrl) env.DATABASE_URL = global.databaseUrl;
  try {
    return loadConfig(env);
  } catch (error) {
    throw asCliError(error, global);
  }
}

/** A ConfigError as the command line says it: the variable named as the operator gave it. */
function asCliError(error: unknown, global: GlobalOptions): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flag = {
    LOOM_DATA_DIR: global.dataDir && "--data-dir",
    DATABASE_URL: global.databaseUrl && "--database-url",
  }[error.variable];
  return new CliError(flag ? error.message.replace(error.variable, flag) : error.message);
}

export interface Opened {
  stores: Stores;
  config: LoomConfig;
  close(): Promise<void>;
  /**
   * Closes, and removes the embedded database this command made (and the data folder, when it
   * made that too and it is left empty): a refused import into a new folder leaves nothing there.
   */
  closeDiscardingMade(): Promise<void>;
}

/**
 * The configured database, as the server opens it: Postgres when DATABASE_URL is set (beside a
 * running server is fine), else the embedded PGlite in `<dataDir>/pglite` — which only one process
 * may hold, so the command takes the data folder's lock and says so when a server has it.
 */
export async function openStores(
  io: Io,
  global: GlobalOptions,
  what: string,
  options: { mayCreate?: boolean } = {},
): Promise<Opened> {
  const config = cliConfig(io, global);
  if (config.databaseUrl) {
    // a database that cannot be reached is said so, in a bounded time; the pool would keep trying
    await checkDatabase(config.databaseUrl, config.databaseTimeoutMs).catch((error: unknown) => {
      throw asCliError(error, global);
    });
    const stores = await createStores({ databaseUrl: config.databaseUrl, poolSize: 2 }).catch(
      (error: unknown) => {
        throw new CliError(`cannot open the Postgres database (DATABASE_URL): ${safeMessage(error)}`);
      },
    );
    const close = () => stores.turnStore.close();
    return { stores, config, close, closeDiscardingMade: close };
  }
  const dir = `${config.dataDir}/pglite`;
  const folderWas = await stat(config.dataDir).catch(() => null);
  const databaseWas = await stat(dir).catch(() => null);
  // a mistyped folder would otherwise get a new, empty database, and the command would find nothing
  if (!options.mayCreate && !databaseWas?.isDirectory())
    throw new CliError(
      `cannot ${what}: no embedded database in ${config.dataDir} (--data-dir or LOOM_DATA_DIR names a Loom data folder; --database-url or DATABASE_URL a Postgres database)`,
    );
  const lock = await lockEmbedded(config, what);
  try {
    // on a thread of its own, as the server has it: PGlite's calls return without this thread's
    // event loop turning, which would hear a Ctrl-C only once the whole job is done
    const open = config.pgliteWorker ? createWorkerStores : createStores;
    const stores = await open({ dataDir: dir }).catch((error: unknown) => {
      throw new CliError(`cannot open the embedded database in ${dir}: ${safeMessage(error)}`);
    });
    const close = async () => {
      await stores.turnStore.close();
      await lock.release();
    };
    await persistLogged(io, config.dataDir, stores.turnStore).catch(async (error: unknown) => {
      await close();
      throw error;
    });
    return {
      stores,
      config,
      close,
      closeDiscardingMade: async () => {
        await close();
        if (databaseWas) return;
        await rm(dir, { recursive: true, force: true });
        // left when something else is in it
        if (!folderWas) await rmdir(config.dataDir).catch(() => undefined);
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * Writes to the embedded database the acknowledged turns a stopped server left only in the data
 * folder's write-ahead log (a kill -9 between two persist ticks), as the server does at its start:
 * read without them, an export, a verify or a backup would miss acknowledged turns. Says so on
 * stderr, and names the universes whose logged turns the database cannot take (a gap after its
 * head: the log of another database, such as one a restore replaced).
 */
export async function persistLogged(
  io: Io,
  dataDir: string,
  turnStore: Pick<TurnStore, "headPosition" | "appendTurns">,
): Promise<void> {
  const dir = `${dataDir}/wal`;
  if (!(await stat(dir).catch(() => null))?.isDirectory()) return;
  const log = await FileLiveStore.open({ dir });
  try {
    const { written, gaps } = await persistRecoveredTurns(log, turnStore);
    if (written > 0)
      io.stderr.write(
        `loom: wrote ${written} acknowledged turn(s) the write-ahead log held to the database\n`,
      );
    for (const gap of gaps)
      io.stderr.write(
        `loom: warning: the write-ahead log holds turns ${gap.first}–${gap.last} of universe ${gap.universeId}, which do not follow its database's head ${gap.head}; they are not read\n`,
      );
  } finally {
    await log.close();
  }
}

/**
 * With Postgres and Redis, warns when Redis holds acknowledged turns of the universe past its
 * database's head: a server writes them within its persist tick, or as it opens the universe
 * after its owner stopped, but a command reading the database alone ends before them. Without
 * REDIS_URL there is nothing to read them from.
 */
export async function warnOfTurnsInRedis(
  io: Io,
  opened: Opened,
  universeId: string,
  what: string,
): Promise<void> {
  const { config } = opened;
  if (!config.databaseUrl || !config.redisUrl) return;
  const live = new RedisLiveStore(config.redisUrl, { commandTimeoutMs: config.redisTimeoutMs });
  try {
    const [streamHead, head] = await Promise.all([
      live.streamHead(universeId),
      opened.stores.turnStore.headPosition(universeId),
    ]);
    if (streamHead > head)
      io.stderr.write(
        `loom: warning: Redis holds acknowledged turns ${head + 1}–${streamHead} of universe ${universeId}, which the database does not have yet; ${what} ends at its head, ${head} (a running server writes them: --server asks it)\n`,
      );
  } catch (error) {
    // an unknown universe is the command's to report
    if (error instanceof Error && error.name === "NotFoundError") return;
    io.stderr.write(
      `loom: warning: could not read Redis (REDIS_URL): ${safeMessage(error)}; turns it holds are not seen\n`,
    );
  } finally {
    await live.close().catch(() => undefined);
  }
}

/** A player's view is of a player of this database: another id is a typing error, not an empty view. */
export async function checkAudience(opened: Opened, audience: Audience): Promise<void> {
  if (audience.kind === "player" && !(await opened.stores.accountStore.byId(audience.playerId)))
    throw new CliError(`--as player:${audience.playerId}: this database has no player ${audience.playerId}`);
}

/** The data folder's lock, or a CliError that names the server holding it and what to do instead. */
export async function lockEmbedded(config: LoomConfig, what: string): Promise<DataDirLock> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    return await lockDataDir(config.dataDir, 0);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    const { holder } = error;
    // port 0: another `loom` command (a second import, a backup), which ends by itself
    if (!holder.port)
      throw new CliError(
        `cannot ${what}: the embedded database in ${config.dataDir} is in use by another loom command ` +
          `(pid ${holder.pid}, since ${holder.startedAt}); run this one when it has finished.`,
        3,
      );
    const server = `http://127.0.0.1:${holder.port}`;
    throw new CliError(
      `cannot ${what}: the embedded database in ${config.dataDir} is locked by a running Loom process ` +
        `(pid ${holder.pid}, port ${holder.port}, since ${holder.startedAt}). ` +
        (what === "export"
          ? `Stop it first, or export through it over HTTP: loom export <universe> --server ${server} --token <access token>.`
          : "Stop it first."),
      3,
    );
  }
}
