import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setServices } from "../services.ts";
import { captureLog } from "../log.ts";
import { errorHandler, route } from "./http.ts";
import { createWorkerStores } from "../persist/worker-store.ts";
import { createStores } from "../persist/index.ts";

describe("the HTTP error handler", () => {
  let url = "";
  let close: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    setServices(null);
    const app = express();
    // a route reaching for the services between a stop and the next start
    app.get(
      "/needs-services",
      route(async () => {
        const { services } = await import("../services.ts");
        return { ok: services().processId };
      }),
    );
    // a route whose store was closed under it (the server stopping): the embedded database on a
    // worker thread of its own, and on the server's own thread
    const opens = { "/closed-store": createWorkerStores, "/closed-store-in-thread": createStores };
    for (const [path, open] of Object.entries(opens))
      app.get(
        path,
        route(async () => {
          const stores = await open({ inMemory: true });
          await stores.turnStore.close();
          return { universes: await stores.turnStore.listUniverses() };
        }),
      );
    // a route whose path holds a secret (an invite's code), failing as a bug would
    app.post(
      "/api/invites/:code/accept",
      route(async () => {
        throw new Error("a bug");
      }),
    );
    app.use(errorHandler);
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(() => close());

  it("given a request while the server has no services (stopping or starting), then 503 unavailable with Retry-After, not 500", async () => {
    const response = await fetch(`${url}/needs-services`);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unavailable");
  });

  it.each(["/closed-store", "/closed-store-in-thread"])(
    "given a request reaching a store closed as the server stops (%s), then 503 unavailable, not 500",
    async (path) => {
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    },
  );

  it("given a request that fails with a path holding an invite code, then its log line names the route, not the code", async () => {
    const lines: string[] = [];
    const restore = captureLog((line) => lines.push(line), "debug");
    try {
      const response = await fetch(`${url}/api/invites/SECRET-CODE-42/accept`, { method: "POST" });
      expect(response.status).toBe(500);
    } finally {
      restore();
    }
    expect(lines.join("\n")).toContain("POST /api/invites/:code/accept failed: ");
    expect(lines.join("\n")).not.toContain("SECRET-CODE-42");
  });
});
