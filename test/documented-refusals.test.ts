import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiErrorSchema } from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { "x-rejection-codes"?: string[] }> }>>;
}

/**
 * A client reads the OpenAPI document to learn which code comes with which status: a refusal the
 * server answers must be listed there under the status it is answered with.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`refusals as the OpenAPI document lists them (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let document: OpenApiDocument;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2657 });
      document = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as OpenApiDocument;
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    async function post(path: string, token: string, body: unknown, key: string) {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "idempotency-key": key,
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as unknown };
    }

    function listed(method: string, path: string, status: number): string[] {
      const responses = document.paths[path]?.[method]?.responses ?? {};
      return responses[String(status)]?.["x-rejection-codes"] ?? [];
    }

    it("lists an Idempotency-Key sent again with another request under the status it is refused with", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Documented GM");
      const token = gm.playerToken!;

      const first = await post("/api/universes", token, { name: "Once" }, "documented-1");
      expect(first.status).toBe(201);
      const reused = await post("/api/universes", token, { name: "Another" }, "documented-1");
      const refusal = apiErrorSchema.parse(reused.json).error;
      expect(refusal.code).toBe("idempotency_key_reused");
      expect(listed("post", "/api/universes", reused.status)).toContain(refusal.code);

      const universeId = (first.json as { universe: { id: string } }).universe.id;
      const invitePath = `/api/universes/${universeId}/invites`;
      expect((await post(invitePath, token, { maxUses: 1 }, "documented-2")).status).toBe(201);
      const again = await post(invitePath, token, { maxUses: 2 }, "documented-2");
      const inviteRefusal = apiErrorSchema.parse(again.json).error;
      expect(inviteRefusal.code).toBe("idempotency_key_reused");
      expect(listed("post", "/api/universes/{id}/invites", again.status)).toContain(inviteRefusal.code);
    });

    it("refuses a scrub of an id no universe has, braces and all, as an unknown universe (it was a 500 with Redis)", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Scrub GM");
      for (const id of ["{braced}", "R0jG,2{'", "no-such-universe"]) {
        const response = await fetch(
          `${server.url}/api/universes/${encodeURIComponent(id)}/scrub?position=1`,
          {
            headers: { authorization: `Bearer ${gm.playerToken}` },
          },
        );
        const refusal = apiErrorSchema.parse(await response.json()).error;
        expect([response.status, refusal.code], id).toEqual([404, "unknown_universe"]);
        expect(listed("get", "/api/universes/{id}/scrub", response.status)).toContain(refusal.code);
      }
    });

    it("lists the refusal of a private universe's dice to someone who is not its member", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Dice GM");
      const universe = await gm.createUniverse({ name: "Sealed dice" });
      const stranger = connect(server.url);
      await stranger.registerPlayer("Dice stranger");
      const response = await fetch(`${server.url}/api/universes/${universe.id}/dice`, {
        headers: { authorization: `Bearer ${stranger.playerToken}` },
      });
      const refusal = apiErrorSchema.parse(await response.json()).error;
      expect(refusal.code).toBe("not_a_member");
      expect(listed("get", "/api/universes/{id}/dice", response.status)).toContain(refusal.code);
    });
  });
}
