import { matchMaker } from "@colyseus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJoinRefusal, joinRefusalSchema, RejectionCode } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { joinRefusal } from "./support/refusals.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";
import { captureLog } from "../server/src/log.ts";

/**
 * A refused room join carries its rejection code as data (a JSON message read by
 * decodeJoinRefusal), from the matchmaking request (onAuth) and from the room itself (onJoin), and
 * the SDK throws a LoomError with that code, the message in words and the status.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`join refusals (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let gm: LoomClient;
    let universeId: string;
    let runId: string;
    let owner: LoomClient;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2651 });
      gm = connect(server.url);
      await gm.registerPlayer("Refusing GM");
      universeId = (await gm.createUniverse({ name: "Closed doors" })).id;
      const invite = await gm.createInvite(universeId);
      owner = connect(server.url);
      await owner.registerPlayer("Owner");
      await owner.acceptInvite(invite.code);
      runId = (await owner.createCharacter(universeId, sheet("Owner's hero"))).run.id;
    });
    /** The universe's room, up (joins by id go to it; the SDK opens it over HTTP first). */
    async function open(): Promise<void> {
      const response = await fetch(`${server.url}/api/universes/${universeId}/open`, {
        method: "POST",
        headers: { authorization: `Bearer ${gm.playerToken}` },
      });
      expect(response.status).toBe(200);
    }

    afterAll(async () => {
      await server?.shutdown();
    });

    it("the matchmaking answer of a join without a token is a coded refusal", async () => {
      await open();
      const response = await fetch(`${server.url}/matchmake/joinById/${universeId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ role: "spectator" }),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      const body = (await response.json()) as { error: string };
      expect(joinRefusalSchema.parse(JSON.parse(body.error))).toMatchObject({
        code: RejectionCode.Unauthorized,
      });
    });

    it("a room made or looked for by the matchmaker itself (create, join, joinOrCreate) is a coded refusal that makes no room", async () => {
      await open();
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        for (const method of ["create", "join", "joinOrCreate"]) {
          const response = await fetch(`${server.url}/matchmake/${method}/universe`, {
            method: "POST",
            headers: { authorization: `Bearer ${gm.playerToken}`, "content-type": "application/json" },
            body: JSON.stringify({ universeId, role: "gm" }),
          });
          expect(response.status, method).toBeGreaterThanOrEqual(400);
          const body = (await response.json()) as { error: string };
          expect(joinRefusalSchema.parse(JSON.parse(body.error)), method).toMatchObject({
            code: RejectionCode.NotAllowed,
          });
        }
      } finally {
        restore();
      }
      expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
      // the universe's one room is still the one opened, and a seat in it by id is still given
      expect((await matchMaker.query({ name: "universe" })).map((room) => room.roomId)).toEqual([universeId]);
      const seated = await gm.joinUniverse(universeId, { role: "gm" });
      await seated.leave();
    });

    it("a bad token is refused at matchmaking with `unauthorized`, through the SDK", async () => {
      const stranger = connect(server.url).useToken("not-a-token");
      // the SDK opens the universe over HTTP first: go to the room directly
      await open();
      const error = await stranger.colyseus
        .joinById(universeId, { role: "spectator" })
        .catch((e: unknown) => e);
      expect(decodeJoinRefusal((error as Error).message)?.code).toBe(RejectionCode.Unauthorized);
    });

    it("the room's own refusals reach the SDK as LoomErrors with their code", async () => {
      const outsider = connect(server.url);
      await outsider.registerPlayer("Outsider");
      // the room refuses a non-member (the HTTP open is refused first, so join directly)
      await open();
      const direct = await outsider.colyseus
        .joinById(universeId, { role: "spectator" })
        .catch((e: unknown) => e);
      expect(decodeJoinRefusal((direct as Error).message)).toEqual({
        code: RejectionCode.NotAMember,
        message: expect.stringContaining("private") as string,
      });

      const invite = await gm.createInvite(universeId);
      await outsider.acceptInvite(invite.code);
      const asGm = await joinRefusal(outsider.joinUniverse(universeId, { role: "gm" }));
      expect({ code: asGm.code, status: asGm.status }).toEqual({
        code: RejectionCode.NotAllowed,
        status: 403,
      });
      expect(asGm.message).toBe("only this universe's game masters may join as gm");

      const noRun = await joinRefusal(outsider.joinUniverse(universeId, { role: "player" }));
      expect({ code: noRun.code, status: noRun.status }).toEqual({
        code: RejectionCode.InvalidMessage,
        status: 400,
      });

      const theirs = await joinRefusal(outsider.joinUniverse(universeId, { role: "player", runId }));
      expect(theirs.code).toBe(RejectionCode.NotYourCharacter);

      const unknown = await joinRefusal(
        outsider.joinUniverse(universeId, { role: "player", runId: "no-such-run" }),
      );
      expect({ code: unknown.code, status: unknown.status }).toEqual({
        code: RejectionCode.UnknownRun,
        status: 404,
      });

      // and the same member is let in when the join is right
      const watching = await outsider.joinUniverse(universeId, { role: "spectator" });
      await watching.leave();
    });

    it("a join whose room closes between the open and the seat is seated in the room opened again", async () => {
      const playing = await owner.joinUniverse(universeId, { role: "player", runId });
      // the game master's seat is asked for once the open has answered; just then the last member
      // leaves and the room closes, so the seat is asked of a room that is gone
      const realFetch = globalThis.fetch;
      let seatRequests = 0;
      globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url.includes(`/matchmake/joinById/${universeId}`) && seatRequests++ === 0) {
          await playing.leave();
          await waitFor(
            () => matchMaker.getLocalRoomById(universeId) === undefined,
            10_000,
            "the room to close",
          );
        }
        return realFetch(input, init);
      };
      try {
        const watching = await connect(server.url).useToken(gm.playerToken!).joinUniverse(universeId, {
          role: "gm",
        });
        expect(watching.state.universeId).toBe(universeId);
        await watching.leave();
      } finally {
        globalThis.fetch = realFetch;
      }
      expect(seatRequests).toBe(2);
    });

    it("an HTTP failure before the join keeps its code; text that is no coded refusal is not read as one", async () => {
      const member = connect(server.url);
      await member.registerPlayer("Nowhere");
      const error = await joinRefusal(member.joinUniverse("no-such-universe", { role: "spectator" }));
      // the HTTP open answers first: an HTTP code, not a join refusal
      expect(error.code).toBe(RejectionCode.UnknownUniverse);
      expect(decodeJoinRefusal("seat reservation expired")).toBeNull();
      expect(decodeJoinRefusal('{"code":"no_such_code","message":"x"}')).toBeNull();
    });
  });
}
