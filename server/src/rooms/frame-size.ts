import type { Client } from "@colyseus/core";

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
