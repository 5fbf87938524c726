import { expect } from "vitest";
import WebSocket from "ws";
import type { UniverseSession } from "../../client-sdk/src/index.ts";

/**
 * Every frame each client socket receives, from its first one (the join) on: what a member's
 * browser would get, state patches and every message type alike, for a test to search.
 */
const frames = new WeakMap<object, Buffer[]>();
const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage")!;

/** Keeps the frames of every socket opened from now on (until untapSockets). */
export function tapSockets(): void {
  Object.defineProperty(WebSocket.prototype, "onmessage", {
    ...onmessage,
    set(this: WebSocket, handler: unknown) {
      const received = frames.get(this) ?? [];
      frames.set(this, received);
      const tapped =
        typeof handler === "function"
          ? (event: { data: unknown }) => {
              const data = event.data;
              received.push(
                typeof data === "string"
                  ? Buffer.from(data)
                  : Buffer.from(new Uint8Array(data as ArrayBuffer).slice()),
              );
              (handler as (e: unknown) => void).call(this, event);
            }
          : handler;
      onmessage.set!.call(this, tapped);
    },
  });
}

export function untapSockets(): void {
  Object.defineProperty(WebSocket.prototype, "onmessage", onmessage);
}

/** All a session's socket received, as text to search (for ASCII words). */
export function wire(session: UniverseSession): string {
  const socket = (session.room.connection.transport as unknown as { ws: object }).ws;
  const received = frames.get(socket);
  expect(received, "the socket was tapped").toBeDefined();
  return Buffer.concat(received!).toString("latin1");
}
