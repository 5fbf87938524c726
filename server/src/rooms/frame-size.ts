import { ClientState, CloseCode, Protocol, type Client, type Room } from "@colyseus/core";

/**
 * The byte length of each frame a client sends, as it came off the socket.
 *
 * Colyseus hands a room message handler the decoded value only, and a decoded value says little
 * about the frame's size (msgpack `undefined` members and repeated keys vanish when decoded).
 * `client.ref` is the transport's socket, an EventEmitter that emits `message` with the raw frame;
 * a listener put in front of Colyseus's own runs just before the frame is dispatched, so the size
 * recorded here belongs to the message being handled. Handlers read it synchronously, before any
 * await.
 */
const lastFrame = new WeakMap<Client, number>();
const watched = new WeakSet<object>();

export function watchFrames(client: Client): void {
  const socket = client.ref as Client["ref"] | undefined;
  if (!socket || typeof socket.prependListener !== "function" || watched.has(socket)) return;
  watched.add(socket);
  socket.prependListener("message", (data: unknown) => lastFrame.set(client, byteLength(data)));
}

/** The size of the frame being handled; 0 when the transport does not say. */
export function frameBytes(client: Client): number {
  return lastFrame.get(client) ?? 0;
}

function byteLength(data: unknown): number {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + byteLength(part), 0);
  return 0;
}

/** The frames Loom's clients send: joins, leaves, pings and room messages (`room.send`). */
const LOOM_FRAMES: ReadonlySet<number> = new Set([
  Protocol.JOIN_ROOM,
  Protocol.LEAVE_ROOM,
  Protocol.ROOM_DATA,
  Protocol.PING,
]);

/** The protocol code in a frame's first byte (Colyseus's PROTOCOL_CODE_MASK: its modifiers above). */
const CODE_MASK = 0b1_1111;

/**
 * Closes a connection at its first frame of a kind Loom's protocol has no use for (a request, raw
 * bytes, inputs). Colyseus answers a malformed request without closing the connection and logs
 * each at error level with its stack: a member sending them in a loop would fill the log.
 */
export function refuseForeignFrames(room: Room): void {
  type OnMessage = (client: Client, buffer: Uint8Array | undefined) => unknown;
  const inside = room as unknown as { _onMessage: OnMessage };
  // Colyseus binds it to each client as the client joins: replaced here, before any joins
  const handle = inside._onMessage.bind(room);
  inside._onMessage = (client, buffer) => {
    if (buffer && buffer.length > 0 && !LOOM_FRAMES.has(buffer[0]! & CODE_MASK)) {
      if (client.state !== ClientState.LEAVING) client.leave(CloseCode.WITH_ERROR);
      return undefined;
    }
    return handle(client, buffer);
  };
}
