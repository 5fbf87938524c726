import type { Client, Room } from "@colyseus/sdk";
import type { LoomClient } from "../../client-sdk/src/index.ts";

/**
 * The one place tests reach into @colyseus/sdk 0.18 to stand between a fresh seat and its room's
 * state, as a slow network would: a client answers the server's JOIN_ROOM with the single byte
 * 10, and the server sends the room's full state (a frame starting with 14) only once that byte
 * arrives. Holding the byte keeps a seat taken and stateless for as long as a test needs; holding
 * the state frame keeps the seat the server considers joined from being one on the client.
 */
const JOIN_ACK = 10;
const ROOM_STATE = 14;
const ROOM_STATE_PATCH = 15;

export interface SeatWatch {
  /** Rooms this client has joined (each join and rejoin makes one), oldest first. */
  readonly rooms: Room[];
  /** How many of the next answers to JOIN_ROOM are held (never sent), each told to `onHeld`. */
  holdAcks: number;
  /**
   * How many of the next full states are held (never given to their room), each told to `onHeld`;
   * the patches that follow a held state are held with it, until a full state gets through.
   */
  holdStates: number;
  /** What `onHeld` threw. */
  readonly errors: unknown[];
}

/** Watches the rooms `client` joins through its first server (the SDK's own Colyseus client). */
export function watchSeats(
  client: LoomClient,
  onHeld: (room: Room, held: "ack" | "state") => void | Promise<void> = () => undefined,
): SeatWatch {
  const colyseus = (client as unknown as { roomsAt(index: number): Client }).roomsAt(0);
  const watch: SeatWatch = { rooms: [], holdAcks: 0, holdStates: 0, errors: [] };
  const tell = (room: Room, held: "ack" | "state") =>
    void Promise.resolve()
      .then(() => onHeld(room, held))
      .catch((error: unknown) => watch.errors.push(error));
  const internals = colyseus as unknown as { createRoom(name: string, schema?: unknown): Room };
  const createRoom = internals.createRoom.bind(colyseus);
  internals.createRoom = (name, schema) => {
    const room = createRoom(name, schema);
    watch.rooms.push(room);
    const connect = room.connect.bind(room);
    room.connect = (...args: Parameters<Room["connect"]>) => {
      connect(...args);
      // the same connection object carries the seat's reconnections
      const connection = room.connection;
      const send = connection.send.bind(connection);
      connection.send = (data) => {
        if (watch.holdAcks > 0 && data.length === 1 && data[0] === JOIN_ACK) {
          watch.holdAcks -= 1;
          tell(room, "ack");
          return;
        }
        send(data);
      };
      const receive = connection.events.onmessage!;
      let stateHeld = false;
      connection.events.onmessage = (event: MessageEvent) => {
        const kind = new Uint8Array(event.data as ArrayBuffer)[0];
        if (watch.holdStates > 0 && kind === ROOM_STATE) {
          watch.holdStates -= 1;
          stateHeld = true;
          tell(room, "state");
          return;
        }
        if (kind === ROOM_STATE) stateHeld = false;
        if (stateHeld && kind === ROOM_STATE_PATCH) return;
        receive(event);
      };
    };
    return room;
  };
  return watch;
}

/** Breaks a room's TCP connection under it (no close frame: 1006), as a network failure does. */
export function breakConnection(room: Room): void {
  (room.connection.transport as unknown as { ws: { _socket: { destroy(): void } } }).ws._socket.destroy();
}
