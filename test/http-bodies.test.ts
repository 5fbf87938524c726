import { randomUUID } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiErrorSchema } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { "x-rejection-codes"?: string[] }> }>>;
}

/**
 * What the HTTP layer does before a route runs: a body it cannot read as JSON is refused rather
 * than read as none, a path is routed exactly as written, and a request that does not arrive in
 * time is not waited for.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`requests as the HTTP layer takes them (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let document: OpenApiDocument;
    let table: Table;
    let gm: LoomClient;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2678 });
      document = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as OpenApiDocument;
      table = await setTable(server.url, ["Ash"]);
      gm = table.gm;
      const session = await gm.joinUniverse(table.universeId, { role: "gm" });
      for (const title of ["The quay", "The ferry", "The far shore"])
        expect((await session.act({ kind: "scene", title, aspects: [] })).ok).toBe(true);
      await session.leave();
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    function send(method: string, path: string, headers: Record<string, string>, body?: string | FormData) {
      return fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${gm.playerToken}`, ...headers },
        body,
      });
    }

    async function refusal(response: Response) {
      return { status: response.status, ...apiErrorSchema.parse(await response.json()).error };
    }

    function listed(method: string, path: string, status: number): string[] {
      return document.paths[path]?.[method]?.responses[String(status)]?.["x-rejection-codes"] ?? [];
    }

    it("refuses an undo whose body is not JSON, and undoes nothing", async () => {
      const before = (await gm.getUniverse(table.universeId)).headPosition;
      const response = await send(
        "POST",
        `/api/universes/${table.universeId}/undo`,
        { "content-type": "text/plain" },
        JSON.stringify({ position: before - 1 }),
      );
      expect(await refusal(response)).toMatchObject({ status: 415, code: "unsupported_media_type" });
      expect((await gm.getUniverse(table.universeId)).headPosition).toBe(before);
      expect(listed("post", "/api/universes/{id}/undo", 415)).toContain("unsupported_media_type");
    });

    it("refuses an invite whose limits come in a body that is not JSON, and makes none", async () => {
      const before = await gm.listInvites(table.universeId);
      const response = await send(
        "POST",
        `/api/universes/${table.universeId}/invites`,
        { "content-type": "text/plain" },
        JSON.stringify({ maxUses: 1, expiresInSeconds: 60 }),
      );
      expect(await refusal(response)).toMatchObject({ status: 415, code: "unsupported_media_type" });
      expect(await gm.listInvites(table.universeId)).toHaveLength(before.length);
    });

    it("says why a universe's body was not read, whatever else it came as", async () => {
      const name = `Unread ${randomUUID().slice(0, 8)}`;
      const body = JSON.stringify({ name });
      const form = new FormData();
      form.set("name", name);
      const sent: Array<[string, Record<string, string>, string | FormData]> = [
        ["text/plain", { "content-type": "text/plain;charset=UTF-8" }, body],
        ["no content type", {}, body],
        [
          "a form",
          { "content-type": "application/x-www-form-urlencoded" },
          new URLSearchParams({ name }).toString(),
        ],
        ["multipart", {}, form],
        ["a charset outside UTF", { "content-type": "application/json; charset=latin1" }, body],
      ];
      for (const [what, headers, sending] of sent) {
        const response = await send("POST", "/api/universes", headers, sending);
        expect({ what, ...(await refusal(response)) }).toMatchObject({
          what,
          status: 415,
          code: "unsupported_media_type",
        });
      }
      const all = await server.services.turnStore.listUniverses({ limit: 100_000 });
      expect(all.filter((universe) => universe.name === name)).toEqual([]);
      expect(listed("post", "/api/universes", 415)).toContain("unsupported_media_type");
    });

    it("reads JSON under a charset parameter or a +json type", async () => {
      for (const type of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
        const response = await send("POST", "/api/universes", { "content-type": type }, '{"name":"Read"}');
        expect({ type, status: response.status }).toEqual({ type, status: 201 });
      }
      const changed = await send(
        "PATCH",
        `/api/universes/${table.universeId}`,
        { "content-type": "application/merge-patch+json" },
        JSON.stringify({ visibility: "public" }),
      );
      expect(changed.status).toBe(200);
      expect((await gm.getUniverse(table.universeId)).visibility).toBe("public");
    });

    it("runs a request without a body as before, whatever its Content-Type", async () => {
      const snapshot = await send("POST", `/api/universes/${table.universeId}/snapshots`, {
        "content-type": "text/plain",
      });
      expect(snapshot.status).toBe(201);
      const invite = await send("POST", `/api/universes/${table.universeId}/invites`, {
        "content-type": "text/plain",
        "content-length": "0",
      });
      expect(invite.status).toBe(201);
    });

    it("routes a path only as written: another case is no endpoint, and no heavy read", async () => {
      const id = table.universeId;
      const read = await send("GET", `/api/universes/${id}/timeline?q=ferry`, {});
      expect(read.status).toBe(200);
      for (const path of [
        `/api/universes/${id}/Timeline?q=ferry`,
        `/API/universes/${id}/timeline?q=ferry`,
        `/Api/universes/${id}/state`,
        "/API/me",
      ]) {
        const response = await send("GET", path, {});
        expect({ path, ...(await refusal(response)) }).toMatchObject({
          path,
          status: 404,
          code: "not_found",
        });
      }
      // what is served beside the API: the web client and matchmaking
      expect((await fetch(`${server.url}/u/${id}`)).status).not.toBe(404);
      const player = connect(server.url).useToken(table.players[0]!.client.playerToken!);
      const seat = await player.joinUniverse(id, { role: "player", runId: table.players[0]!.runId });
      await seat.leave();
    });

    it("gives a request 30 s to arrive, headers and body", () => {
      const http = (server.server.transport as unknown as { server: HttpServer }).server;
      expect(http.requestTimeout).toBe(30_000);
      expect(http.headersTimeout).toBeLessThanOrEqual(http.requestTimeout);
    });
  });
}
