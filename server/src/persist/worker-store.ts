import { Worker } from "node:worker_threads";
import { StoreClosedError, type TurnStore } from "./turn-store.ts";
import { bundledEntry } from "../worker-bundle.ts";
import { revive, type ThreadError } from "./revive.ts";
import type { Stores, TurnStoreOptions } from "./index.ts";
import type { AccountStore } from "../auth/account-store.ts";
import type { MembershipStore } from "./membership-store.ts";
import type { IdempotencyStore } from "./idempotency-store.ts";
import type { LeaseLedger } from "./lease-ledger.ts";
import type { SavePointStore } from "./save-points.ts";
import {
  ChangeFeed,
  elsewhere,
  MEMBERSHIP_CHANGES,
  TURN_STORE_CHANGES,
  toldAround,
  type ChangeListener,
  type Classify,
} from "./timeline-changes.ts";

/**
 * The embedded TurnStore on a worker thread. PGlite runs Postgres as WebAssembly on the thread
 * that calls it, synchronously: a transaction on the server's event loop stalls every room for
 * its duration. Here PGlite and drizzle live in a worker and the port's methods cross over as
 * messages (structured clone), so rooms keep serving while a flush runs.
 */

interface Reply {
  id: number;
  result?: unknown;
  error?: ThreadError;
}

/** Every TurnStore method crosses over; what each may change is told to the store's watchers. */
const METHODS: Record<
  Exclude<keyof TurnStore, "driver" | "close" | "watchChanges" | "watching" | "caughtUp">,
  Classify
> = TURN_STORE_CHANGES;

/** A port's methods by name: one added to the port and not here fails to compile. */
function every<T>(methods: Record<keyof T, true>): string[] {
  return Object.keys(methods);
}

const ACCOUNT_METHODS = every<AccountStore>({
  createAccount: true,
  byLogin: true,
  byId: true,
  generation: true,
  generations: true,
  setPassword: true,
  revokeAll: true,
  addRefreshToken: true,
  rotateRefreshToken: true,
  revokeFamily: true,
});

const MEMBERSHIP_METHODS: Record<keyof MembershipStore, Classify> = MEMBERSHIP_CHANGES;

const SAVE_POINT_METHODS = every<SavePointStore>({
  nameSavePoint: true,
  removeSavePoint: true,
  listSavePoints: true,
});
const LEASE_METHODS = every<LeaseLedger>({ read: true, register: true, settle: true });
const IDEMPOTENCY_METHODS = every<IdempotencyStore>({
  claimKey: true,
  completeKey: true,
  releaseKey: true,
  deleteExpiredKeys: true,
});

export async function createWorkerTurnStore(
  options: Omit<TurnStoreOptions, "databaseUrl">,
): Promise<TurnStore> {
  return (await createWorkerStores(options)).turnStore;
}

export async function createWorkerStores(options: Omit<TurnStoreOptions, "databaseUrl">): Promise<Stores> {
  // From a bundle of the project's modules, the packages imported as installed (PGlite reads its
  // WebAssembly beside its own files); without one, the boot file registers tsx in the worker,
  // whatever loaded TypeScript in this thread.
  const entry =
    (await bundledEntry(new URL("./store-worker.ts", import.meta.url), { externalPackages: true })) ??
    new URL("./store-worker-boot.mjs", import.meta.url);
  const worker = new Worker(entry, { workerData: options });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  let failed: Error | null = null;
  const failAll = (error: Error) => {
    failed = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.on("message", (reply: Reply) => {
    const call = pending.get(reply.id);
    if (!call) return;
    pending.delete(reply.id);
    if (reply.error) call.reject(revive(reply.error));
    else call.resolve(reply.result);
  });
  worker.on("error", (error) => failAll(error));
  // A reply this thread cannot read (a value nested past what it can rebuild) names no call: the
  // calls waiting fail rather than wait for ever, and the thread serves the next ones.
  worker.on("messageerror", (error) => {
    for (const waiting of pending.values())
      waiting.reject(new Error(`a reply of the store's thread could not be read: ${error.message}`));
    pending.clear();
  });
  // closed on purpose (the server stopping), a call is refused as such, not as a crash
  let closing = false;
  worker.on("exit", (code) =>
    failAll(closing ? new StoreClosedError() : new Error(`the turn store worker exited (${code})`)),
  );

  const call = (method: string, args: unknown[], port = "turnStore"): Promise<unknown> => {
    if (failed) return Promise.reject(failed);
    if (closing && method !== "close") return Promise.reject(new StoreClosedError());
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, port, method, args });
    });
  };
  // Every write crosses from this thread, so this thread can tell what may change before it is
  // sent and once it has settled (timeline-changes.ts).
  const feed = new ChangeFeed();
  const proxy = (port: string, methods: Readonly<Record<string, Classify>>) => {
    const store: Record<string, unknown> = {};
    for (const [method, classify] of Object.entries(methods)) {
      store[method] = (...args: unknown[]) =>
        toldAround(feed, classify(args), () => call(method, args, port));
    }
    return store;
  };
  const elsewhereOnly = (methods: readonly string[]) =>
    Object.fromEntries(methods.map((method) => [method, elsewhere]));

  await call("ready", []); // migrations applied, or the error that stopped them
  const store = {
    driver: "pglite" as const,
    ...proxy("turnStore", METHODS),
    watchChanges: (listener: ChangeListener) => feed.watchChanges(listener),
  } as Record<string, unknown>;
  store.close = async () => {
    closing = true;
    await call("close", []);
    await worker.terminate();
  };
  return {
    turnStore: store as unknown as TurnStore,
    accountStore: proxy("accountStore", elsewhereOnly(ACCOUNT_METHODS)) as unknown as AccountStore,
    memberships: proxy("memberships", MEMBERSHIP_METHODS) as unknown as MembershipStore,
    idempotency: proxy("idempotency", elsewhereOnly(IDEMPOTENCY_METHODS)) as unknown as IdempotencyStore,
    leases: proxy("leases", elsewhereOnly(LEASE_METHODS)) as unknown as LeaseLedger,
    savePoints: proxy("savePoints", elsewhereOnly(SAVE_POINT_METHODS)) as unknown as SavePointStore,
  };
}
