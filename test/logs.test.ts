import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logEntries, spawnServer, tempDir, testPort, type ChildServer } from "./support/server.ts";
import { setTable } from "./support/players.ts";

/** Embedded, each server in a data folder of its own (the two boot side by side). */
const embedded = () => ({ DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir("loom-logs-") });

describe("the server's log", () => {
  const children: ChildServer[] = [];
  /** The second test's server boots while the first test runs (a second core is idle meanwhile). */
  let prettyServer: Promise<ChildServer>;
  beforeAll(() => {
    prettyServer = spawnServer(
      { ...embedded(), LOOM_LOG_LEVEL: "info", LOOM_LOG_FORMAT: "pretty", LOOM_HOST: "127.0.0.1" },
      2662,
    );
    prettyServer.then(
      (child) => children.push(child),
      () => undefined,
    );
  });
  afterAll(async () => {
    await prettyServer.catch(() => undefined);
    for (const child of children) await child.stop("SIGKILL");
  });

  it("is JSON lines off a terminal: the banner, one line per request with its id, universe ids", async () => {
    const child = await spawnServer({ ...embedded(), LOOM_LOG_LEVEL: "debug" }, 2661);
    children.push(child);
    const given = await fetch(`${child.url}/healthz`, { headers: { "X-Request-Id": "probe-42" } });
    expect(given.headers.get("x-request-id")).toBe("probe-42");
    const replaced = await fetch(`${child.url}/healthz`, {
      headers: { "X-Request-Id": "not a token\u00e9" },
    });
    const fresh = replaced.headers.get("x-request-id");
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    const table = await setTable(child.url, ["Wren"]);
    const wren = table.players[0]!;
    const session = await wren.client.joinUniverse(table.universeId, { role: "player", runId: wren.runId });
    await session.leave();
    expect(await child.stop("SIGTERM")).toBe(0);

    const entries = child.logs(); // every stdout line must parse
    const messages = entries.map((entry) => entry.msg);
    expect(messages).toContain(`Loom listening on http://localhost:${testPort(2661)}`);
    expect(messages.some((msg) => msg.startsWith("Loom starting in embedded mode"))).toBe(true);
    expect(messages.at(-1)).toBe("shutdown complete");
    const requests = entries.filter((entry) => entry.msg === "request");
    expect(requests.find((entry) => entry.requestId === "probe-42")).toMatchObject({
      level: "debug",
      method: "GET",
      route: "/healthz",
      status: 200,
    });
    expect(requests.find((entry) => entry.requestId === fresh)).toBeDefined();
    // the route's pattern, never the path with its values (an invite code is a secret)
    const accepted = requests.filter((entry) => entry.route === "/api/invites/:code/accept");
    expect(accepted).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain(table.inviteCode);
    expect(
      entries.find((entry) => entry.msg.startsWith(`opened universe ${table.universeId}`)),
    ).toMatchObject({
      level: "info",
      universeId: table.universeId,
    });
  }, 90_000);

  it("is readable lines when asked for pretty output, and quiet below its level; LOOM_HOST is the one address listened on", async () => {
    const child = await prettyServer;
    expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
    // an address of this machine other than the loopback one is not listened on
    const elsewhere = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === "IPv4" && !address.internal)?.address;
    if (elsewhere) await expect(fetch(`http://${elsewhere}:${testPort(2662)}/healthz`)).rejects.toThrow();
    expect(await child.stop("SIGTERM")).toBe(0);
    const lines = child.output().split("\n");
    const banner = lines.find((line) => line.includes("Loom listening on"));
    expect(banner).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Loom listening on http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.some((line) => line.startsWith("{"))).toBe(false);
    expect(child.output()).not.toContain("request");
    expect(() => logEntries(child.output())).toThrow(/not JSON/);
  }, 90_000);
});
