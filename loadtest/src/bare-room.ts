import { defineRoom, defineServer, matchMaker, Room, type Client } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { ServerMessage } from "@loom/shared";

export const BARE_ROOM = "bare";

const utf8 = new TextEncoder();

interface BareMember {
  playerId: string;
}

/**
 * The baseline: a Colyseus room that turns each `act` into the next "turn" and broadcasts it to
 * its members, with an ack to the sender — the same messages and frame counts as a universe
 * room, but no validation, rules, live store or database. Comparing Loom with it isolates what
 * Loom's pipeline costs on top of Colyseus itself on the same machine and clients.
 */
export class BareRoom extends Room {
  override autoDispose = false;
  // the universe room's limit, so both refuse floods the same way
  override maxMessagesPerSecond = 200;
  private head = 0;

  override onCreate(): void {
    this.onMessage("act", (client: Client, message: { seq?: unknown; command?: unknown }) => {
      const position = ++this.head;
      const member = client.userData as BareMember | undefined;
      const turn = {
        universeId: this.roomId,
        position,
        id: `${this.roomId}-${position}`,
        playerId: member?.playerId ?? client.sessionId,
        input: { ...(message?.command as object), seq: message?.seq },
      };
      // framed as Loom frames turns (encodeTurnMessage): UTF-8 JSON bytes
      this.broadcastBytes(ServerMessage.Turn, utf8.encode(JSON.stringify(turn)), {});
      // as a universe room acks: the sender has the turn from the broadcast just before
      client.send(ServerMessage.Ack, { seq: message?.seq, duplicate: false, position });
    });
  }

  override onJoin(client: Client, options: { playerId?: string } | undefined): void {
    client.userData = { playerId: options?.playerId ?? client.sessionId } satisfies BareMember;
  }
}

export interface BareServer {
  url: string;
  /** Creates one room (a stand-in for a universe) and returns its id. */
  createRoom(): Promise<string>;
  shutdown(): Promise<void>;
}

/** Where a client asks the bare server for a new room (it has no universes to open). */
export const BARE_ROOMS_PATH = "/bare/rooms";

/** Asks a bare server, here or in another process, for a new room. */
export async function requestBareRoom(url: string): Promise<string> {
  const response = await fetch(`${url}${BARE_ROOMS_PATH}`, { method: "POST" });
  if (!response.ok) throw new Error(`creating a bare room failed with ${response.status}`);
  return ((await response.json()) as { roomId: string }).roomId;
}

/**
 * Starts the baseline server in this process. The matchmaker is a process-wide singleton, so it
 * must not run beside a Loom server in the same process: the harness runs the phases one after
 * the other, shutting each down completely (or runs it in a child process: bare-main.ts).
 */
export async function startBareServer(port: number): Promise<BareServer> {
  const server = defineServer({
    rooms: { [BARE_ROOM]: defineRoom(BareRoom) },
    transport: new WebSocketTransport({ maxPayload: 16 * 1024 }),
    gracefullyShutdown: false,
    greet: false,
    express: (app) => {
      app.post(BARE_ROOMS_PATH, (_req, res) => {
        matchMaker.createRoom(BARE_ROOM, {}).then(
          (room) => res.json({ roomId: room.roomId }),
          (error: unknown) => res.status(500).json({ error: String(error) }),
        );
      });
    },
  });
  await server.listen(port);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    createRoom: () => requestBareRoom(url),
    shutdown: () => server.gracefullyShutdown(false),
  };
}
