import "./node-compat.ts";
import { createServer, type Server as HttpServer } from "node:http";
import {
  defineServer,
  defineRoom,
  LocalPresence,
  matchMaker,
  type Presence,
  type Server,
} from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { answerClientErrors } from "./api/client-errors.ts";
import { LIMITS } from "@loom/shared";
import { RedisPresence } from "@colyseus/redis-presence";
import { RedisDriver } from "@colyseus/redis-driver";
import type { Redis } from "ioredis";
import type { LoomConfig } from "./config.ts";
import { describeMode } from "./config.ts";
import { createStores } from "./persist/index.ts";
import { installSeatMethods } from "./rooms/seat-methods.ts";
import { installNativeSha256 } from "./native-sha256.ts";
import { createWorkerStores } from "./persist/worker-store.ts";
import { createLiveStore } from "./live/index.ts";
import { createTokenService, loadSecret } from "./auth/tokens.ts";
import { GenerationCache } from "./auth/generations.ts";
import { Sessions } from "./auth/sessions.ts";
import { RequestLimits } from "./api/limits.ts";
import { KeyedBuckets } from "./api/buckets.ts";
import { newId, setServices, type Services } from "./services.ts";
import { createNarrator } from "./narrator/index.ts";
import { Ownership, UNIVERSE_ROOM } from "./universe/ownership.ts";
import { GroupCommit } from "./universe/group-commit.ts";
import { PendingBudget } from "./universe/pending-budget.ts";
import { NarrationRecorder } from "./narrator/narration-recorder.ts";
import { withLastKnown } from "./persist/last-known.ts";
import { IdempotencySweep } from "./persist/idempotency-sweep.ts";
import { Metrics } from "./metrics.ts";
import { PersistTick } from "./universe/persist-tick.ts";
import { UniverseRoom } from "./rooms/universe-room.ts";
import { announceRevocation, hearRevocations } from "./rooms/revocations.ts";
import { installRoutes } from "./api/routes.ts";
import { installCors } from "./api/cors.ts";
import { colyseusLogger, log } from "./log.ts";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.ts";
import { warnUnlessRedisPersists } from "./live/redis-persistence.ts";
import { FileLiveStore } from "./live/file.ts";
import { persistRecoveredTurns } from "./live/persist-recovered.ts";
import { StallTolerantRedis } from "./live/stall-tolerant-redis.ts";

export interface LoomServer {
  server: Server;
  services: Services;
  port: number;
  /** Disconnects clients, flushes every pending turn, closes stores. */
  shutdown(): Promise<void>;
}

/**
 * Whether this process keeps data in its data folder that no other process may write: PGlite's
 * files (no DATABASE_URL) or the live store's write-ahead log (no REDIS_URL). Only processes
 * sharing Postgres and Redis may share a folder; all they keep there is the generated secret,
 * which is created once, atomically, and only read after.
 */
export function ownsDataDir(config: LoomConfig): boolean {
  return !config.inMemory && !(config.databaseUrl && config.redisUrl);
}

/**
 * The longest a request may take to arrive, headers and body: Node's default leaves a body five
 * minutes, so a client that trickles one holds a socket that long. 30 s is far more than a 64 KB
 * body needs on a slow link. Node refuses the headers no later than the whole request; it checks
 * every second, so a late request is answered 408 within a second of its time.
 */
const REQUEST_TIMEOUT_MS = 30_000;

/** Builds the stores and the Colyseus server for a configuration, without listening. */
export async function buildLoomServer(
  config: LoomConfig,
): Promise<{ server: Server; services: Services; dataDirLock: DataDirLock | null }> {
  installNativeSha256();
  // Taken before anything in the folder is opened, and held until the stores are closed.
  const dataDirLock = ownsDataDir(config) ? await lockDataDir(config.dataDir, config.port) : null;
  try {
    return { ...(await buildStoresAndServer(config)), dataDirLock };
  } catch (error) {
    await dataDirLock?.release();
    throw error;
  }
}

async function buildStoresAndServer(config: LoomConfig): Promise<{ server: Server; services: Services }> {
  // the server indexes what a stopped process left behind the search marks
  const searchIndex = { delayMs: config.searchIndexDelayMs, catchUp: true };
  const embedded = { dataDir: `${config.dataDir}/pglite`, inMemory: config.inMemory, searchIndex };
  const stores = config.databaseUrl
    ? await createStores({
        databaseUrl: config.databaseUrl,
        timeoutMs: config.databaseTimeoutMs,
        searchIndex,
        // the scrubber answers from copies of its reads, dropped as any process writes
        watchTimeline: true,
        appendThread: config.appendThread,
      })
    : config.pgliteWorker
      ? await createWorkerStores(embedded)
      : await createStores(embedded);
  const { accountStore, idempotency, leases, savePoints } = stores;
  // The first room opens on prepared statements, as the rooms after it do. On one connection:
  // preparing them on every connection of the pool would open them all at start, and spread the
  // opens after over connections each planning the statements afresh.
  await stores.turnStore
    .warm(1)
    .catch((error: unknown) =>
      log.warn("preparing the statements of a universe's open failed", { err: error }),
    );
  // what a player needs to sit down again is answered from its last read while the database is out
  const turnStore = withLastKnown(stores.turnStore, ["getUniverse", "getRun", "getCharacter"]);
  const memberships = withLastKnown(stores.memberships, ["getMember"]);
  const liveStore = await createLiveStore({
    redisUrl: config.redisUrl ?? undefined,
    redisTimeoutMs: config.redisTimeoutMs,
    walDir: config.inMemory ? undefined : `${config.dataDir}/wal`,
  }).catch(async (error: unknown) => {
    await turnStore.close();
    throw error;
  });
  if (config.redisUrl) await warnUnlessRedisPersists(config.redisUrl);
  if (liveStore instanceof FileLiveStore) {
    const { written: recovered, gaps } = await persistRecoveredTurns(liveStore, stores.turnStore);
    if (recovered > 0) log.info(`wrote ${recovered} turn(s) the write-ahead log held from before the start`);
    // a database older than its log (put back by hand): the universe's open refuses it, said here first
    for (const gap of gaps)
      log.warn(
        `the write-ahead log holds turns ${gap.first}–${gap.last} of universe ${gap.universeId}, which do not follow its database's head ${gap.head}; the universe will not open until they do (restore the database the log belongs to, or move ${config.dataDir}/wal aside)`,
        { universeId: gap.universeId },
      );
  }
  const clock = config.clock;
  // made here rather than by Colyseus: log-outs are announced on it before the server listens
  const presence: Presence = config.redisUrl
    ? new RedisPresence(matchmakerRedis(config))
    : new LocalPresence();
  const generations = new GenerationCache((id) => accountStore.generation(id), clock);
  const tokens = createTokenService(
    await loadSecret({ secret: config.secret ?? undefined, dataDir: config.dataDir }),
    { ttlSeconds: config.accessTokenTtlSeconds, now: clock, generationOf: (id) => generations.get(id) },
  );
  const sessions = new Sessions(
    accountStore,
    tokens,
    generations,
    clock,
    config.refreshTokenTtlSeconds,
    config.refreshReuseGraceSeconds,
    newId,
    (playerId, generation) => announceRevocation(presence, { playerId, generation }),
  );
  const processId = newId();
  const metrics = new Metrics();
  const ownership = new Ownership({
    processId,
    turnStore,
    writer: new GroupCommit(turnStore, (turns, ms, ok) => metrics.commit(turns, ms, ok)),
    liveStore,
    leaseTtlMs: config.leaseTtlMs,
    maxPendingTurns: config.maxPendingTurns,
    pendingBudget: new PendingBudget(config.maxPendingTurnsTotal),
    // Redis and the write-ahead log file keep an appended turn across a crash; memory does not.
    durableOnLiveAppend: liveStore.kind !== "memory",
    newId,
    health: metrics.persist,
    leases,
  });
  const persistTick = new PersistTick(config.persistIntervalMs);
  const services: Services = {
    config,
    turnStore,
    memberships,
    idempotency,
    savePoints,
    liveStore,
    tokens,
    generations,
    accountStore,
    sessions,
    limits: new RequestLimits(config.limits, clock),
    joins: config.joinsPerPlayer ? new KeyedBuckets(config.joinsPerPlayer, clock) : null,
    clock,
    ownership,
    persistTick,
    metrics,
    narrator: createNarrator(config.narrator),
    // a group of records every tenth of a second at most: at hundreds of tellings a second, a
    // few commits rather than one each
    narrationRecords: new NarrationRecorder(turnStore, 500, 100),
    processId,
    newId,
  };
  setServices(services);
  await hearRevocations(presence, ownership, generations);

  installCors(config.corsOrigins);
  installSeatMethods();
  const server = defineServer({
    rooms: { [UNIVERSE_ROOM]: defineRoom(UniverseRoom) },
    transport: new WebSocketTransport({
      maxPayload: LIMITS.frameBytesMax,
      server: createServer({
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: 1_000,
      }),
    }),
    presence,
    driver: config.redisUrl ? new RedisDriver(matchmakerRedis(config)) : undefined,
    publicAddress: config.publicAddress ?? (config.redisUrl ? `127.0.0.1:${config.port}` : undefined),
    gracefullyShutdown: false,
    greet: false,
    logger: colyseusLogger,
    express: (app) => installRoutes(app),
  });
  return { server, services };
}

/**
 * A connection for Colyseus's presence and room listings. Its commands time out too (a little
 * later than the live store's: a matchmaking call does more per command), so a join during a
 * Redis outage fails with an error instead of waiting out ioredis's reconnections.
 */
/** Where a person on this machine opens the page: the listening address, or localhost for all. */
function listeningUrl(config: LoomConfig): string {
  const host =
    config.host === null || config.host === "::" || config.host === "0.0.0.0" ? "localhost" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

function matchmakerRedis(config: LoomConfig): Redis {
  return new StallTolerantRedis(config.redisUrl!, {
    commandTimeout: Math.max(2_000, config.redisTimeoutMs),
    maxRetriesPerRequest: 1,
  });
}

export async function startLoomServer(config: LoomConfig): Promise<LoomServer> {
  const { server, services, dataDirLock } = await buildLoomServer(config);
  log.info(`Loom starting in ${describeMode(config)}`);
  // A port already in use surfaces as an 'error' event on the HTTP server, not as a rejection.
  const http = (server.transport as unknown as { server?: HttpServer }).server;
  if (http) answerClientErrors(http);
  try {
    await new Promise<void>((resolve, reject) => {
      http?.once("error", reject);
      server.listen(config.port, config.host ?? undefined).then(() => {
        http?.off("error", reject);
        resolve();
      }, reject);
    });
  } catch (error) {
    // Nothing was served: close what was opened, so the data folder is free for the next try.
    await services.liveStore.close().catch(() => undefined);
    await services.turnStore.close().catch(() => undefined);
    await services.narrator?.close?.();
    await dataDirLock?.release();
    services.metrics.close();
    setServices(null);
    throw error;
  }
  log.info(`Loom listening on ${listeningUrl(config)}`);
  const idempotencySweep = new IdempotencySweep(services.idempotency);
  idempotencySweep.start();
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info("shutting down: flushing pending turns");
      services.ownership.stopOpening();
      // Every step is taken whatever the one before it met: a store that fails to close must not
      // keep the others (or the data folder's lock) open. The first failure is thrown at the end.
      const failures: unknown[] = [];
      const step = async (what: string, close: () => unknown) => {
        try {
          await close();
        } catch (error) {
          log.error(`shutdown: ${what} failed`, { err: error });
          failures.push(error);
        }
      };
      await step("closing the rooms", () => server.gracefullyShutdown(false));
      await step("waiting for the rooms", () => services.ownership.allClosed(config.shutdownDrainMs + 5_000));
      await step("stopping the idempotency sweep", () => idempotencySweep.stop());
      await step("closing the live store", () => services.liveStore.close());
      await step("closing the database", () => services.turnStore.close());
      // after the rooms closed: what they were still telling has been told or given up
      await step("closing the narrator", () => services.narrator?.close?.());
      await step("releasing the data folder", () => dataDirLock?.release());
      services.metrics.close();
      setServices(null);
      if (failures.length > 0) throw failures[0];
      log.info("shutdown complete");
    })();
    return stopping;
  };
  return { server, services, port: config.port, shutdown };
}

export { matchMaker };
