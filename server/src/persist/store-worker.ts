import { parentPort, workerData } from "node:worker_threads";
import { createStores, type TurnStoreOptions } from "./index.ts";
import { threadError } from "./revive.ts";

// The worker side of worker-store.ts: one PGlite database and the ports over it, their methods
// called by message.
const port = parentPort!;
const opening = createStores(workerData as TurnStoreOptions);
// Until the first call asks for it, a failed open would be an unhandled rejection.
opening.catch(() => undefined);

type PortName = "turnStore" | "accountStore" | "memberships" | "idempotency" | "leases" | "savePoints";

port.on("message", (message: { id: number; port?: PortName; method: string; args: unknown[] }) => {
  void (async () => {
    try {
      const stores = await opening;
      if (message.method === "ready") return port.postMessage({ id: message.id, result: true });
      const store = stores[message.port ?? "turnStore"];
      const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
        message.method
      ];
      if (typeof method !== "function") throw new TypeError(`no store method ${message.method}`);
      const result = await method.apply(store, message.args);
      port.postMessage({ id: message.id, result });
    } catch (error) {
      port.postMessage({ id: message.id, error: threadError(error) });
    }
  })();
});
