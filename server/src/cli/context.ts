import { mkdir } from "node:fs/promises";
import { loadConfig, type LoomConfig } from "../config.ts";
import { DataDirLockedError, lockDataDir, type DataDirLock } from "../data-dir-lock.ts";
import { createStores, type Stores } from "../persist/index.ts";

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

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Waits between turns of a narrative replay. */
  sleep: (ms: number) => Promise<void>;
}

export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  progress?: boolean;
}

/** The server's configuration (config.ts) from the environment, with the command line's overrides. */
export function cliConfig(io: Io, global: GlobalOptions): LoomConfig {
  const env = { ...io.env };
  if (global.dataDir) env.LOOM_DATA_DIR = global.dataDir;
  if (global.databaseUrl) env.DATABASE_URL = global.databaseUrl;
  return loadConfig(env);
}

export interface Opened {
  stores: Stores;
  config: LoomConfig;
  close(): Promise<void>;
}

/**
 * The configured database, as the server opens it: Postgres when DATABASE_URL is set (beside a
 * running server is fine), else the embedded PGlite in `<dataDir>/pglite` — which only one process
 * may hold, so the command takes the data folder's lock and says so when a server has it.
 */
export async function openStores(io: Io, global: GlobalOptions, what: string): Promise<Opened> {
  const config = cliConfig(io, global);
  if (config.databaseUrl) {
    const stores = await createStores({ databaseUrl: config.databaseUrl, poolSize: 2 });
    return { stores, config, close: () => stores.turnStore.close() };
  }
  const lock = await lockEmbedded(config, what);
  try {
    const stores = await createStores({ dataDir: `${config.dataDir}/pglite` });
    return {
      stores,
      config,
      close: async () => {
        await stores.turnStore.close();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** The data folder's lock, or a CliError that names the server holding it and what to do instead. */
export async function lockEmbedded(config: LoomConfig, what: string): Promise<DataDirLock> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    return await lockDataDir(config.dataDir, 0);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    const { holder } = error;
    const server = holder.port ? `http://127.0.0.1:${holder.port}` : null;
    throw new CliError(
      `cannot ${what}: the embedded database in ${config.dataDir} is locked by a running Loom process ` +
        `(pid ${holder.pid}${holder.port ? `, port ${holder.port}` : ""}, since ${holder.startedAt}). ` +
        `Stop it first` +
        (server
          ? `, or export through it over HTTP: loom export <universe> --server ${server} --token <access token>`
          : "") +
        ".",
      3,
    );
  }
}
