import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import express from "express";
import { Validator } from "@seriousme/openapi-schema-validator";
import {
  API,
  apiErrorSchema,
  characterViewSchema,
  roomStateSchema,
  type ApiRoute,
  type ApiRouteName,
} from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import { installRoutes } from "../server/src/api/routes.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, setTable, sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

const ROUTES = API as Record<string, ApiRoute>;

/** `METHOD /path/:param` of every route an Express app registers, read from its router. */
function registeredRoutes(app: express.Application): Set<string> {
  const found = new Set<string>();
  const stack = (app.router as unknown as { stack: Array<{ route?: { path: unknown; methods: object } }> })
    .stack;
  for (const layer of stack) {
    if (!layer.route) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const method of Object.keys(layer.route.methods))
      for (const path of paths) found.add(`${method.toUpperCase()} ${String(path)}`);
  }
  return found;
}

/** The same pairs, read from an OpenAPI document (`{param}` back to `:param`). */
function documentedRoutes(document: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  const found = new Set<string>();
  for (const [path, item] of Object.entries(document.paths))
    for (const method of Object.keys(item))
      found.add(`${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ":$1")}`);
  return found;
}

interface Call {
  params?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
  token?: string | null;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`the HTTP contract (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let document: { openapi: string; paths: Record<string, Record<string, unknown>> };

    beforeAll(async () => {
      server = await startServer(mode, { port: 2650 });
      document = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as typeof document;
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    /** Calls a route by its contract name; the answer must have the route's status and schema. */
    async function call<K extends ApiRouteName>(
      name: K,
      options: Call = {},
    ): Promise<Record<string, unknown>> {
      const route = ROUTES[name]!;
      const path = route.path.replace(/:([A-Za-z]+)/g, (_all, key: string) =>
        encodeURIComponent(String(options.params?.[key])),
      );
      const search = options.query
        ? `?${new URLSearchParams(Object.entries(options.query).map(([k, v]) => [k, String(v)])).toString()}`
        : "";
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(`${server.url}${path}${search}`, {
        method: route.method.toUpperCase(),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      expect({ name, status: response.status, json: response.ok ? "…" : json }).toEqual({
        name,
        status: route.status,
        json: "…",
      });
      const parsed = route.response.safeParse(json);
      expect(
        parsed.success ? [] : parsed.error.issues.slice(0, 3),
        `${name} answered ${JSON.stringify(json).slice(0, 300)}`,
      ).toEqual([]);
      return json;
    }

    it("serves an OpenAPI 3.1 document that validates", async () => {
      expect(document.openapi).toBe("3.1.0");
      const validator = new Validator();
      const result = await validator.validate(document);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe("3.1");
    });

    it("documents every route the server registers, and no other", () => {
      const app = express();
      installRoutes(app);
      const registered = registeredRoutes(app);
      expect(registered.size).toBeGreaterThanOrEqual(40);
      expect([...registered].filter((route) => !documentedRoutes(document).has(route))).toEqual([]);
      expect([...documentedRoutes(document)].filter((route) => !registered.has(route))).toEqual([]);
    });

    it("serves a self-contained API reference page listing every operation", async () => {
      const response = await fetch(`${server.url}/api/docs`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await response.text();
      for (const path of Object.keys(document.paths)) expect(html).toContain(path.replaceAll("&", "&amp;"));
      expect(html).toContain("not_a_member");
      // nothing fetched from elsewhere: no script, stylesheet or image from another origin
      expect(html).not.toMatch(/<(script|link|img)\b[^>]*(src|href)="(https?:)?\/\//i);
    });

    it("answers the main routes with what their response schemas describe", async () => {
      // login names are unique for good, and the Postgres database outlives a run of the suite
      const run = randomUUID().slice(0, 8);
      const gmName = `Contract GM ${run}`;
      await call("health");
      await call("metricsJson");
      await call("openApi");
      const gm = (await call("register", { body: { name: gmName, password: "correct horse" } })) as {
        token: string;
        refreshToken: string;
        player: { id: string };
      };
      const token = gm.token;
      await call("login", { body: { name: gmName, password: "correct horse" } });
      await call("me", { token });
      const { universe } = (await call("createUniverse", { token, body: { name: "Contract" } })) as {
        universe: { id: string };
      };
      const id = universe.id;
      await call("listUniverses", { token, query: { limit: 10 } });
      await call("getUniverse", { token, params: { id } });
      await call("changeUniverse", { token, params: { id }, body: { visibility: "private" } });
      const { invite } = (await call("createInvite", { token, params: { id }, body: { maxUses: 5 } })) as {
        invite: { code: string };
      };
      await call("listInvites", { token, params: { id } });

      const alex = (await call("register", { body: { name: `Contract Alex ${run}` } })) as {
        token: string;
        player: { id: string };
      };
      // a first password ends the session it was set from: Alex goes on with the one it answers
      const passworded = (await call("setPassword", {
        token: alex.token,
        body: { password: "a long password" },
      })) as { token: string };
      alex.token = passworded.token;
      await call("acceptInvite", { token: alex.token, params: { code: invite.code } });
      await call("listMembers", { token, params: { id } });
      await call("addMember", { token, params: { id, playerId: alex.player.id } });
      await call("openUniverse", { token: alex.token, params: { id } });
      const created = (await call("createCharacter", {
        token: alex.token,
        params: { id },
        body: { ...sheet("Mara"), therapeuticFocus: "patience" },
      })) as { character: { id: string }; run: { id: string } };

      // a few turns through the room, as a player plays them
      const player = connect(server.url).useToken(alex.token);
      const session = await player.joinUniverse(id, { role: "player", runId: created.run.id });
      for (let i = 0; i < 3; i += 1)
        expect((await session.act(overcome(created.character.id))).ok).toBe(true);
      await session.leave();

      await call("character", { token: alex.token, params: { id: created.character.id } });
      await call("timeline", { token: alex.token, params: { id }, query: { limit: 10, order: "asc" } });
      await call("timeline", { token, params: { id }, query: { q: "marsh" } });
      await call("turn", { token: alex.token, params: { id, position: 2 } });
      const here = (await call("jump", { token: alex.token, params: { id } })) as { head: number };
      await call("jump", { token: alex.token, params: { id }, query: { position: 1 } });
      await call("nameSavePoint", {
        token: alex.token,
        params: { id },
        body: { name: "Before the fen", position: here.head },
      });
      await call("bookmarks", { token: alex.token, params: { id } });
      await call("removeSavePoint", { token: alex.token, params: { id, name: "Before the fen" } });
      await call("listSnapshots", { token, params: { id } });
      await call("state", { token, params: { id } });
      await call("state", { token, params: { id }, query: { position: 1 } });
      await call("diff", { token, params: { id }, query: { from: 0 } });
      await call("scrub", { token, params: { id }, query: { position: 2 } });
      await call("scrub", { token, params: { id }, query: { position: 0 } });
      await call("dashboard", { token, params: { id } });
      await call("retell", { token, params: { id, position: 2 } });
      await call("snapshot", { token, params: { id } });
      await call("retcon", { token, params: { id }, body: { note: "The marsh was a fen all along." } });
      await call("undo", { token, params: { id }, body: {} });
      await call("dice", { token: alex.token, params: { id } });
      await call("run", { token: alex.token, params: { id: created.run.id } });
      await call("runSessions", { token: alex.token, params: { id: created.run.id } });
      await call("recap", { token: alex.token, params: { id: created.run.id } });
      await call("pauseRun", { token: alex.token, params: { id: created.run.id } });
      await call("resumeRun", { token: alex.token, params: { id: created.run.id } });
      await call("completeRun", {
        token: alex.token,
        params: { id: created.run.id },
        body: { reason: "victory" },
      });
      await call("progression", { token: alex.token });
      const again = (await call("startRun", {
        token: alex.token,
        params: { id },
        body: { characterId: created.character.id },
      })) as { run: { id: string } };
      await call("abandonRun", { token: alex.token, params: { id: again.run.id } });
      const { universe: branch } = (await call("branch", {
        token,
        params: { id },
        body: { position: 2, name: "What if" },
      })) as { universe: { id: string } };
      await call("handOver", { token, params: { id: branch.id }, body: { playerId: alex.player.id } });
      await call("revealDice", { token, params: { id } });
      await call("revokeInvite", { token, params: { id, code: invite.code } });
      await call("removeMember", { token, params: { id, playerId: alex.player.id } });
      const refreshed = (await call("refresh", { body: { refreshToken: gm.refreshToken } })) as {
        token: string;
        refreshToken: string;
      };
      await call("logout", { body: { refreshToken: refreshed.refreshToken } });
      await call("logoutAll", { token: refreshed.token });
    });

    it("syncs a room state that roomStateSchema describes, field for field, to every role", async () => {
      const table = await setTable(server.url, ["Wren"]);
      const [wren] = table.players;
      const gmSession = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const scene = await gmSession.act({ kind: "scene", title: "The fen", aspects: ["Thick fog"] });
      expect(scene.ok).toBe(true);
      const playing = await wren!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: wren!.runId,
      });
      const watcher = connect(server.url);
      await watcher.registerPlayer("Watcher");
      await watcher.acceptInvite(table.inviteCode);
      const watching = await watcher.joinUniverse(table.universeId, { role: "spectator" });
      for (const session of [gmSession, playing, watching]) {
        await waitFor(() => session.state.characters.get(wren!.characterId)?.present === true);
        const json = (session.state as unknown as { toJSON(): unknown }).toJSON();
        const parsed = roomStateSchema.safeParse(json);
        expect(parsed.success ? [] : parsed.error.issues.slice(0, 3)).toEqual([]);
        expect(session.state.scene.aspects.size).toBe(1);
      }
      // the GM's view holds every field the schema names, the owner-only and GM-only ones too
      const seen = roomStateSchema.parse((gmSession.state as unknown as { toJSON(): unknown }).toJSON());
      expect(Object.keys(seen.characters[wren!.characterId]!).sort()).toEqual(
        Object.keys(characterViewSchema.shape).sort(),
      );
      for (const session of [gmSession, playing, watching]) await session.leave();
    });

    it("answers matchmaking, which Colyseus serves before Express, with the headers of every answer", async () => {
      const refused = await fetch(`${server.url}/matchmake/joinById/no-such-universe`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      for (const answer of [refused, await fetch(`${server.url}/api/no-such-route`)]) {
        expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
        expect(answer.headers.get("x-frame-options")).toBe("DENY");
        expect(answer.headers.get("referrer-policy")).toBe("same-origin");
      }
    });

    it("refuses with the error schema and a code its route lists", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Refusing GM");
      const universe = await gm.createUniverse({ name: "Refusals" });
      const other = connect(server.url);
      await other.registerPlayer("Stranger");
      const cases: Array<[ApiRouteName, string, Record<string, string>]> = [
        ["state", `/api/universes/${universe.id}/state`, { authorization: `Bearer ${other.playerToken}` }],
        [
          "timeline",
          `/api/universes/${universe.id}/timeline`,
          { authorization: `Bearer ${other.playerToken}` },
        ],
        ["me", "/api/me", {}],
        ["turn", `/api/universes/${universe.id}/turns/0`, { authorization: `Bearer ${gm.playerToken}` }],
      ];
      for (const [name, path, headers] of cases) {
        const response = await fetch(`${server.url}${path}`, { headers });
        const body = apiErrorSchema.parse(await response.json());
        expect(
          ROUTES[name]!.errors[response.status],
          `${name}: ${response.status} ${body.error.code}`,
        ).toContain(body.error.code);
      }
    });
  });
}
