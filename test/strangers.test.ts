import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { API } from "@loom/shared";
import { sql } from "drizzle-orm";
import { loadConfig } from "../server/src/config.ts";
import type { LoomServer } from "../server/src/app.ts";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import { modes, OPERATOR, startServer, TEST_OPERATOR_TOKEN, waitFor } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import { parseExposition, sampleValue } from "./support/prometheus-text.ts";

/**
 * What a stranger may read of a server. A page on another origin gets no CORS header unless
 * LOOM_CORS_ORIGINS names it, and never Access-Control-Allow-Credentials; the web client the
 * server serves itself and the Node SDK (no Origin at all) need none. Health and metrics answer
 * anyone with states and counts; which universes fail and the errors' own words (internal hosts
 * and addresses) are for LOOM_OPERATOR_TOKEN.
 */

const PORT = 2681;
const ELSEWHERE = "https://elsewhere.example";
const ALLOWED = "https://play.example";

/** A browser's preflight for a JSON call with a bearer token, from a page at `origin`. */
function preflight(url: string, path: string, origin: string): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
}

function corsOf(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-")));
}

async function get(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; body: unknown }> {
  const response = await fetch(`${url}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

describe("LOOM_CORS_ORIGINS and LOOM_OPERATOR_TOKEN", () => {
  it("reads origins as a browser sends them, and refuses one no Origin header can equal", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const listed = " https://Play.Example.com/ , http://localhost:5173,*";
    expect(loadConfig({ LOOM_CORS_ORIGINS: listed }).corsOrigins).toEqual([
      "https://play.example.com",
      "http://localhost:5173",
      "*",
    ]);
    for (const wrong of ["https://play.example.com/game", "play.example.com", "localhost:5173"])
      expect(() => loadConfig({ LOOM_CORS_ORIGINS: wrong })).toThrow(/LOOM_CORS_ORIGINS/);
  });

  it("wants an operator token too long to guess", () => {
    expect(loadConfig({}).operatorToken).toBeNull();
    expect(() => loadConfig({ LOOM_OPERATOR_TOKEN: "hunter2" })).toThrow(/LOOM_OPERATOR_TOKEN/);
    expect(loadConfig({ LOOM_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN }).operatorToken).toBe(TEST_OPERATOR_TOKEN);
  });
});

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`calls from pages elsewhere (${mode.name})`, () => {
    let server: (LoomServer & { url: string }) | undefined;
    afterEach(async () => {
      await server?.shutdown();
      server = undefined;
    });

    it("by default no page elsewhere reads an answer, while the Node SDK and same-origin calls work", async () => {
      server = await startServer(mode, { port: PORT });
      const { url } = server;
      // the Node SDK sends no Origin: it registers, creates, joins and plays as ever
      const table = await setTable(url, ["Ash"]);
      const ash = table.players[0]!;
      // its matchmaking asks for no cookies: in a page elsewhere, a request with credentials would
      // need Allow-Credentials, which no answer carries
      const asked: Array<RequestCredentials | undefined> = [];
      const fetched = globalThis.fetch;
      globalThis.fetch = (input, init) => {
        if ((input instanceof Request ? input.url : String(input)).includes("/matchmake/"))
          asked.push(init?.credentials);
        return fetched(input, init);
      };
      let seat: UniverseSession;
      try {
        seat = await ash.client.joinUniverse(table.universeId, { role: "player", runId: ash.runId });
      } finally {
        globalThis.fetch = fetched;
      }
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((credentials) => credentials === "omit")).toBe(true);
      expect((await seat.act(overcome(ash.characterId))).ok).toBe(true);
      await seat.leave();

      for (const path of ["/api/universes", `/matchmake/joinById/${table.universeId}`, "/healthz"]) {
        const answer = await preflight(url, path, ELSEWHERE);
        expect(answer.status).toBe(204);
        expect(corsOf(answer)).toEqual({});
      }
      // the server answers; without the headers the browser keeps the answer from the page
      const me = await fetch(`${url}/api/me`, {
        headers: { origin: ELSEWHERE, authorization: `Bearer ${table.gm.playerToken}` },
      });
      expect(me.status).toBe(200);
      expect(corsOf(me)).toEqual({});
      // the web client served here calls from the server's own origin, which CORS does not concern
      const registered = await fetch(`${url}/api/players`, {
        method: "POST",
        headers: { origin: url, "content-type": "application/json" },
        body: JSON.stringify({ name: "Same origin" }),
      });
      expect(registered.status).toBe(201);
      expect(corsOf(registered)).toEqual({});
    });

    it("an allowed origin calls the API and matchmaking with its bearer token, never with credentials", async () => {
      server = await startServer(mode, { port: PORT, corsOrigins: [ALLOWED] });
      const { url } = server;
      const table = await setTable(url, ["Bo"]);
      const bo = table.players[0]!;
      for (const path of ["/api/universes", `/matchmake/joinById/${table.universeId}`]) {
        const allowed = await preflight(url, path, ALLOWED);
        expect(allowed.status).toBe(204);
        expect(corsOf(allowed)).toMatchObject({ "access-control-allow-origin": ALLOWED });
        expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/i);
        expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
        expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
        expect(allowed.headers.get("vary")).toContain("Origin");
        expect(corsOf(await preflight(url, path, ELSEWHERE))).toEqual({});
      }
      const headers = {
        origin: ALLOWED,
        authorization: `Bearer ${bo.client.playerToken}`,
        "content-type": "application/json",
      };
      const opened = await fetch(`${url}/api/universes/${table.universeId}/open`, {
        method: "POST",
        headers,
      });
      expect(opened.status).toBe(200);
      const seat = await fetch(`${url}/matchmake/joinById/${table.universeId}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ role: "player", runId: bo.runId }),
      });
      expect(seat.status).toBe(200);
      for (const answer of [opened, seat]) {
        expect(answer.headers.get("access-control-allow-origin")).toBe(ALLOWED);
        expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
      }
      // what the SDK reads of a refusal (Retry-After) is readable across origins too
      expect(opened.headers.get("access-control-expose-headers")).toContain("Retry-After");
      const elsewhere = await fetch(`${url}/api/me`, { headers: { ...headers, origin: ELSEWHERE } });
      expect(elsewhere.status).toBe(200);
      expect(corsOf(elsewhere)).toEqual({});
      // a cache keeps one answer per Origin, so no page gets another's
      expect(elsewhere.headers.get("vary")).toContain("Origin");
    });

    it("`*` lets any page call, still without credentials", async () => {
      server = await startServer(mode, { port: PORT, corsOrigins: ["*"] });
      const answer = await preflight(server.url, "/api/universes", ELSEWHERE);
      expect(answer.headers.get("access-control-allow-origin")).toBe("*");
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
      const read = await fetch(`${server.url}/healthz`, { headers: { origin: ELSEWHERE } });
      expect(read.headers.get("access-control-allow-origin")).toBe("*");
      expect(read.headers.get("access-control-allow-credentials")).toBeNull();
    });
  });

  describe.skipIf(!mode.available)(
    `health and metrics for anyone and for the operator (${mode.name})`,
    () => {
      let server: LoomServer & { url: string };
      beforeAll(async () => {
        // embedded: PGlite on this thread, where the test can add a trigger to it
        server = await startServer(mode, { port: PORT, pgliteWorker: false });
      });
      afterAll(async () => {
        await server?.shutdown();
      });

      it("anyone reads states and counts; which universes fail and what the errors say, only the operator", async () => {
        const { url, services } = server;
        const table = await setTable(url, ["Cai"]);
        // a private universe: its id is its members' to know
        const id = table.universeId;
        const cai = table.players[0]!;
        const { liveStore } = services;
        const { ping } = liveStore;
        // the database refuses this universe's turns and the live store does not answer a probe,
        // each in words that name a host inside the deployment
        const db = (services.turnStore as unknown as { db: { execute(query: unknown): Promise<unknown> } })
          .db;
        const refuse = `loom_test_refuse_${Date.now()}`;
        let seat: UniverseSession | undefined;
        try {
          await db.execute(
            sql.raw(`create function ${refuse}() returns trigger language plpgsql as $$
            begin
              if new.universe_id = '${id}' then raise exception 'connect ECONNREFUSED 10.20.30.40:5432'; end if;
              return new;
            end $$`),
          );
          await db.execute(
            sql.raw(
              `create trigger ${refuse} before insert on turns for each row execute function ${refuse}()`,
            ),
          );
          liveStore.ping = () =>
            Promise.reject(
              Object.assign(new Error("getaddrinfo ENOTFOUND redis.internal"), { code: "ENOTFOUND" }),
            );
          // what opening the universe on a snapshot that fails its checksum reports
          services.metrics.persist.snapshotDamaged(id, 42);
          seat = await cai.client.joinUniverse(id, { role: "player", runId: cai.runId });
          expect((await seat.act(overcome(cai.characterId))).ok).toBe(true);
          await waitFor(
            async () => services.metrics.persist.read().failingUniverses === 1,
            10_000,
            "the universe failing to persist",
          );

          const health = await get(url, "/healthz");
          expect(health.status).toBe(200);
          const shown = API.health.response.parse(health.body);
          expect(shown).toMatchObject({
            status: "degraded",
            degraded: { failingUniverses: 1, unreachable: { live: "ENOTFOUND" } },
          });
          expect(shown.degraded).not.toHaveProperty("persistFailing");
          const ready = await get(url, "/readyz");
          expect(ready.status).toBe(503);
          expect(ready.body).toEqual({ ready: false, unreachable: { live: "ENOTFOUND" } });
          // as the API document says it answers
          const documented = (await get(url, "/api/openapi.json")).body as {
            paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
          };
          expect(Object.keys(documented.paths["/readyz"]!.get!.responses)).toContain(String(ready.status));
          const metrics = await get(url, "/metrics.json");
          const persist = API.metricsJson.response.parse(metrics.body).persist;
          expect(persist).toMatchObject({ failingUniverses: 1, damagedSnapshots: 1 });
          expect(persist.failedWrites).toBeGreaterThan(0);
          expect(persist).not.toHaveProperty("failing");
          expect(persist).not.toHaveProperty("lastDamagedSnapshot");
          // a player's token (the universe's own GM) and a wrong operator token see no more
          const player = { authorization: `Bearer ${table.gm.playerToken}` };
          const wrong = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}0` };
          const others = [
            await get(url, "/healthz", player),
            await get(url, "/metrics.json", player),
            await get(url, "/readyz", wrong),
            await get(url, "/healthz", wrong),
          ];
          for (const answer of [health, ready, metrics, ...others]) {
            expect(answer.text).not.toContain(id);
            expect(answer.text).not.toMatch(/10\.20\.30\.40|redis\.internal|getaddrinfo|connect /);
          }
          expect(others[0]!.text).toBe(health.text);
          // Prometheus scrapes as before: counts, no universe
          const exposition = await (await fetch(`${url}/metrics`)).text();
          expect(sampleValue(parseExposition(exposition), "loom_universes_persist_failing")).toBe(1);
          expect(exposition).not.toContain(id);

          const operatorHealth = API.health.response.parse((await get(url, "/healthz", OPERATOR)).body);
          expect(operatorHealth.degraded?.failingUniverses).toBe(1);
          expect(operatorHealth.degraded?.persistFailing).toEqual([
            expect.objectContaining({ universeId: id, error: expect.stringContaining("10.20.30.40:5432") }),
          ]);
          expect(operatorHealth.degraded?.unreachable?.live).toContain("ENOTFOUND redis.internal");
          const operatorReady = await get(url, "/readyz", OPERATOR);
          expect(operatorReady.status).toBe(503);
          expect(operatorReady.text).toContain("redis.internal");
          const operatorMetrics = API.metricsJson.response.parse(
            (await get(url, "/metrics.json", OPERATOR)).body,
          );
          expect(operatorMetrics.persist.failing).toEqual([expect.objectContaining({ universeId: id })]);
          expect(operatorMetrics.persist.lastDamagedSnapshot).toBe(`${id}@42`);
        } finally {
          await db.execute(sql.raw(`drop trigger if exists ${refuse} on turns`));
          await db.execute(sql.raw(`drop function if exists ${refuse}()`));
          liveStore.ping = ping;
        }
        // the turns reach the database on the next attempt, and the process is healthy again
        await waitFor(
          async () => API.health.response.parse((await get(url, "/healthz")).body).status === "ok",
          15_000,
          "health again",
        );
        await seat.leave();
      });
    },
  );
}
