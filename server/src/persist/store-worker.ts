import { parentPort, workerData } from "node:worker_threads";
import { createStores, type TurnStoreOptions } from "./index.ts";

// The worker side of worker-store.ts: one PGlite database and the ports over it, their methods
// called by message.
const port = parentPort!;
const opening = createStores(workerData as TurnStoreOptions);
// Until the first call asks for it, a failed open would be an unhandled rejection.
opening.catch(() => undefined);

function fields(error: unknown): Record<string, unknown> {
  return typeof error === "object" && error !== null ? { ...(error as Record<string, unknown>) } : {};
}

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
      const { name, message: text } =
        error instanceof Error ? error : { name: "Error", message: String(error) };
      port.postMessage({
        id: message.id,
        error: {
          name,
          message: text,
          fields: JSON.parse(JSON.stringify(fields(error))) as Record<string, unknown>,
        },
      });
    }
  })();
});
