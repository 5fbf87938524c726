import type { Socket } from "node:net";
import WebSocket from "ws";
import { Packr } from "msgpackr";
import { joinAck, parseFrame, Protocol, roomEndpoint, type SeatReservation } from "../../loadtest/k6/wire.ts";

const packr = new Packr({ useRecords: false });

/** MessagePack as the server's msgpackr reads it (BigInt becomes uint64/int64, NaN a float64). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** A ROOM_DATA frame from a type and an already encoded (possibly malformed) payload. */
export function frame(type: string, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const head = packr.pack(type);
  const bytes = new Uint8Array(1 + head.length + payload.length);
  bytes[0] = Protocol.ROOM_DATA;
  bytes.set(head, 1);
  bytes.set(payload, 1 + head.length);
  return bytes;
}

export interface Received {
  type: string | number;
  message: Record<string, unknown>;
}

/**
 * A member speaking the Colyseus wire protocol with a plain WebSocket, as a hostile client would:
 * it sends any bytes and records every room message it gets back.
 */
export class RawMember {
  readonly received: Received[] = [];
  closed: number | null = null;
  /** The code of a close frame the server sent and an `ignoreClose` member did not answer. */
  closeFrame: number | null = null;

  private constructor(private readonly socket: WebSocket) {}

  /**
   * With `ignoreClose`, the member does not answer the server's close frame (as a hostile or
   * hung client would not): its socket stays open, and it can go on sending, until the server
   * gives up on it.
   */
  static async join(
    url: string,
    token: string,
    universeId: string,
    options: Record<string, unknown>,
    { ignoreClose = false }: { ignoreClose?: boolean } = {},
  ): Promise<RawMember> {
    const response = await fetch(`${url}/matchmake/joinById/${universeId}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(options),
    });
    if (response.status !== 200) throw new Error(`seat refused: ${response.status} ${await response.text()}`);
    const seat = (await response.json()) as SeatReservation;
    const socket = new WebSocket(roomEndpoint(url, seat));
    const member = new RawMember(socket);
    await new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("close", (code) => {
        member.closed = code;
        reject(new Error(`closed before joining (${code})`));
      });
      if (ignoreClose)
        socket.on("open", () => {
          // ws answers a close frame from its receiver's "conclude"; without it nothing is sent back
          const receiver = (socket as unknown as { _receiver: NodeJS.EventEmitter })._receiver;
          receiver.removeAllListeners("conclude");
          receiver.on("conclude", (code: number) => {
            member.closeFrame = code;
          });
        });
      socket.on("message", (data: Buffer) => {
        const parsed = parseFrame(new Uint8Array(data));
        if (parsed.code === Protocol.JOIN_ROOM) {
          socket.send(joinAck());
          resolve();
        } else if (parsed.code === Protocol.ERROR && "errorCode" in parsed) {
          reject(new Error(`join refused (${parsed.errorCode}): ${parsed.message}`));
        } else if ("type" in parsed) {
          member.received.push({ type: parsed.type, message: parsed.message as Record<string, unknown> });
        }
      });
    });
    return member;
  }

  send(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  /** The first message of `type` after `from` (an index into `received`) that passes `match`. */
  async next(
    type: string,
    from: number,
    match: (message: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find((m) => m.type === type && match(m.message));
      if (found) return found.message;
      if (this.closed !== null) throw new Error(`socket closed (${this.closed}) while waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`no ${type} message within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.close();
  }

  /**
   * Stops reading, as a client does that wants the server to hold everything for it, while it
   * answers the server's keepalive anyway (a pong every 500 ms, asked or not). Returns what
   * stops the pongs.
   */
  stall(): () => void {
    (this.socket as unknown as { _socket: Socket })._socket.pause();
    const timer = setInterval(() => {
      if (this.socket.readyState === WebSocket.OPEN) this.socket.pong();
    }, 500);
    return () => clearInterval(timer);
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.socket.terminate();
  }
}
