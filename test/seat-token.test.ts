import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect, type UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, setTable, type Table } from "./support/players.ts";
import { breakConnection } from "./support/seat-watch.ts";

/** Colyseus's JOIN_ROOM and full-state frames: what a connection given the seat receives first. */
const JOIN_ROOM = 10;
const ROOM_STATE = 14;

interface SeatRoom {
  roomId: string;
  reconnectionToken: string;
  reconnection: { maxRetries: number };
  connection: { url: string };
}

/** A WebSocket that brings a seat's token, as anyone who read it would; what it received and how it closed. */
async function bringToken(
  url: string,
  token: string,
  from = "127.0.0.1",
): Promise<{ opened: boolean; frames: number[]; closed: { code: number } | null }> {
  const address = new URL(url);
  address.searchParams.set("reconnectionToken", token);
  address.searchParams.set("skipHandshake", "1");
  const ws = new WebSocket(address, { localAddress: from });
  const frames: number[] = [];
  let closed: { code: number } | null = null;
  let opened = false;
  ws.on("open", () => (opened = true));
  ws.on("message", (data: Buffer) => {
    frames.push(data[0]!);
    if (data[0] === JOIN_ROOM) ws.send(Buffer.from([JOIN_ROOM]));
  });
  ws.on("close", (code) => (closed = { code }));
  ws.on("error", () => undefined);
  await waitFor(() => closed !== null || frames.includes(ROOM_STATE), 5_000, "the seat's answer");
  ws.terminate();
  return { opened, frames, closed };
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a seat's reconnection token (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;
    beforeAll(async () => {
      server = await startServer(mode, { port: 2670, reconnectSeconds: 30 });
      table = await setTable(server.url, ["Alex"]);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    /** Alex seated from 127.0.0.1 (the loopback's own address): a connection from 127.0.0.2 comes from another. */
    async function seatAlex(): Promise<{ session: UniverseSession; room: SeatRoom }> {
      const alex = table.players[0]!;
      const client = connect(server.url.replace("localhost", "127.0.0.1"));
      client.useToken(alex.client.playerToken!);
      const session = await client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
      return { session, room: session.room as unknown as SeatRoom };
    }

    it("does not hand a live seat over by its token through the matchmaker", async () => {
      const { session, room } = await seatAlex();
      const [roomId, token] = room.reconnectionToken.split(":");
      const answer = await fetch(`${server.url}/matchmake/reconnect/${roomId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reconnectionToken: token }),
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(await answer.text()).toContain("not_allowed");
      // the seat's own connection was not closed for it
      const acted = await session.act(overcome(table.players[0]!.characterId, "keeps her seat"));
      expect(acted).toMatchObject({ ok: true, duplicate: false });
      await session.leave();
    });

    it("gives a lost connection's seat back to its token only from the address the seat was taken from", async () => {
      const { session, room } = await seatAlex();
      const url = room.connection.url;
      const token = room.reconnectionToken.split(":")[1]!;
      // the SDK would use the token first, or join again (which gives the kept seat up): this
      // client does neither, as one whose device went offline
      room.reconnection.maxRetries = 0;
      (session as unknown as { failover: null }).failover = null;
      breakConnection(session.room);
      // the server sees the socket close and keeps the seat for it
      await new Promise((resolve) => setTimeout(resolve, 300));
      const elsewhere = await bringToken(url, token, "127.0.0.2");
      expect(elsewhere.opened).toBe(true);
      expect(elsewhere.frames).not.toContain(ROOM_STATE);
      expect(elsewhere.closed).not.toBeNull();
      await session.leave();

      // from where the seat was taken, the token brings it back
      const again = await seatAlex();
      again.room.reconnection.maxRetries = 0;
      (again.session as unknown as { failover: null }).failover = null;
      breakConnection(again.session.room);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const back = await bringToken(again.room.connection.url, again.room.reconnectionToken.split(":")[1]!);
      expect(back.frames).toContain(ROOM_STATE);
      await again.session.leave();
    });
  });
}
