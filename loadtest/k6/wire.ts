/**
 * The Colyseus 0.18 wire protocol, as far as a load client needs it: the seat reservation's
 * endpoint, frame codes, ROOM_DATA frames both ways and the JOIN_ROOM handshake. Pure functions
 * on bytes, so they run under k6 and under Node alike (the Node test drives a real server).
 */
import { expandMemberTurn } from "../../shared/src/member-turn.ts";
import { decodeAt, encodeInto, utf8Decode, type Packable } from "./msgpack.ts";

export const Protocol = {
  JOIN_ROOM: 10,
  ERROR: 11,
  LEAVE_ROOM: 12,
  ROOM_DATA: 13,
  ROOM_STATE: 14,
  ROOM_STATE_PATCH: 15,
  ROOM_DATA_BYTES: 17,
  PING: 18,
} as const;

/** Low five bits: the code; high bits: modifiers (TIMED prefixes 8 bytes of clock data). */
const CODE_MASK = 0x1f;
const TIMED = 0x80;
const TIMED_PREFIX_BYTES = 8;

/** `POST /matchmake/joinById/{roomId}` answers with a seat reservation. */
export interface SeatReservation {
  name: string;
  sessionId: string;
  roomId: string;
  processId: string;
  publicAddress?: string;
}

/** ws://{publicAddress | host}/{processId}/{roomId}?sessionId=… */
export function roomEndpoint(httpBase: string, seat: SeatReservation): string {
  const secure = httpBase.startsWith("https:");
  const host = seat.publicAddress ?? httpBase.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  return `${secure ? "wss" : "ws"}://${host}/${seat.processId}/${seat.roomId}?sessionId=${encodeURIComponent(seat.sessionId)}`;
}

/** The single byte a client answers JOIN_ROOM with; only then does the room send its state. */
export function joinAck(): Uint8Array {
  return new Uint8Array([Protocol.JOIN_ROOM]);
}

export function leaveFrame(): Uint8Array {
  return new Uint8Array([Protocol.LEAVE_ROOM]);
}

/** [13][type as msgpack string][payload as msgpack] — a room message, client to server. */
export function roomDataFrame(type: string, payload: Packable): Uint8Array {
  const bytes = [Protocol.ROOM_DATA];
  encodeInto(type, bytes);
  if (payload !== undefined) encodeInto(payload, bytes);
  return new Uint8Array(bytes);
}

export type Frame =
  | { code: typeof Protocol.JOIN_ROOM; reconnectionToken: string; serializerId: string }
  | { code: typeof Protocol.ROOM_DATA; type: string | number; message: Packable }
  /** Only `turn` messages are bytes: the turn's UTF-8 JSON (a member's compact form expanded), decoded here. */
  | { code: typeof Protocol.ROOM_DATA_BYTES; type: string | number; message: Packable }
  | { code: typeof Protocol.ERROR; errorCode: number; message: string }
  | { code: number };

/**
 * Decodes a server frame: ROOM_DATA as MessagePack, ROOM_DATA_BYTES (turns) as UTF-8 JSON; state
 * and patch frames are returned by code only (not decoded here).
 */
export function parseFrame(bytes: Uint8Array): Frame {
  const raw = bytes[0] ?? 0;
  const code = raw & CODE_MASK;
  let offset = 1 + (raw & TIMED ? TIMED_PREFIX_BYTES : 0);
  if (code === Protocol.JOIN_ROOM) {
    const tokenLength = bytes[offset++]!;
    const reconnectionToken = utf8Decode(bytes, offset, offset + tokenLength);
    offset += tokenLength;
    const serializerLength = bytes[offset++]!;
    const serializerId = utf8Decode(bytes, offset, offset + serializerLength);
    return { code, reconnectionToken, serializerId };
  }
  if (code === Protocol.ROOM_DATA) {
    const type = decodeAt(bytes, offset);
    const message = type.offset < bytes.length ? decodeAt(bytes, type.offset).value : undefined;
    return { code, type: type.value as string | number, message };
  }
  if (code === Protocol.ROOM_DATA_BYTES) {
    const type = decodeAt(bytes, offset);
    const parsed = JSON.parse(utf8Decode(bytes, type.offset, bytes.length)) as unknown;
    // players and spectators get the compact form (member-turn.ts); the room's id is not needed here
    const message = (Array.isArray(parsed) ? expandMemberTurn(parsed, "") : parsed) as Packable;
    return { code, type: type.value as string | number, message };
  }
  if (code === Protocol.ERROR) {
    const errorCode = decodeAt(bytes, offset);
    const message = errorCode.offset < bytes.length ? decodeAt(bytes, errorCode.offset).value : "";
    return { code, errorCode: Number(errorCode.value), message: String(message) };
  }
  return { code };
}
