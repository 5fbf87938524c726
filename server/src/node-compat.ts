import { WebSocket } from "ws";

/*
 * Colyseus 0.18 checks a client taking its seat back after a dropped connection against the
 * global `WebSocket.OPEN`. Node.js has a global WebSocket only from version 22: on Node 20 that
 * check throws a ReferenceError, every such reconnection fails, and each session falls back to a
 * new seat through the matchmaker. The `ws` package's class (the one Colyseus's transport uses)
 * stands in for it there; where Node has its own, nothing changes.
 */
globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket;
