import WebSocket from "ws";
import { unpackMultiple } from "msgpackr";
import { actMessageSchema, retconMessageSchema, undoMessageSchema } from "@loom/shared";
import {
  joinAck,
  parseFrame,
  Protocol,
  roomDataFrame,
  roomEndpoint,
  type SeatReservation,
} from "../../loadtest/k6/wire.ts";

/**
 * A room seat held by a raw WebSocket, the way a hostile client holds one: it sends whatever bytes
 * it is given and records what the server answers. Acknowledged turn ids are kept so a check can
 * tell a turn someone was told about from one that appeared out of a refused frame.
 */
export class RawSeat {
  readonly acked = new Set<string>();
  /** The ids of the turns this seat was sent, by position: acks name their turn by position. */
  private readonly turnIds = new Map<number, string>();
  /**
   * Sequence numbers of the frames sent that the message schemas accept. When the seat is closed
   * (a later frame cost it the connection), a turn from one of these may have been decided
   * without its ack reaching this seat.
   */
  readonly accepted = new Set<number>();
  rejections = 0;
  /** Rejection codes by seq, for reports. */
  readonly refused = new Map<number, string>();
  closed = false;
  private syncs = new Map<number, () => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => this.receive(new Uint8Array(data)));
    socket.on("close", () => {
      this.closed = true;
      for (const done of this.syncs.values()) done();
      this.syncs.clear();
    });
    socket.on("error", () => undefined);
  }

  /** Reserves a seat over HTTP and completes the JOIN_ROOM handshake. */
  static async open(url: string, token: string, universeId: string, options: object): Promise<RawSeat> {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    // the room closes when its last seat goes; opening it again is what any client does
    const openRoom = () =>
      fetch(`${url}/api/universes/${universeId}/open`, { method: "POST", headers, body: "{}" });
    await openRoom().catch(openRoom);
    const reserve = () =>
      fetch(`${url}/matchmake/joinById/${universeId}`, {
        method: "POST",
        headers,
        body: JSON.stringify(options),
      });
    // a kept-alive connection the server closed meanwhile fails once; a new one does not
    const response = await reserve().catch(reserve);
    if (response.status !== 200) throw new Error(`join refused: ${response.status} ${await response.text()}`);
    const seat = (await response.json()) as SeatReservation;
    const socket = new WebSocket(roomEndpoint(url, seat));
    const raw = new RawSeat(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no JOIN_ROOM within 10 s")), 10_000);
      socket.on("error", reject);
      socket.on("message", (data: Buffer) => {
        if (data[0] !== Protocol.JOIN_ROOM) return;
        clearTimeout(timer);
        socket.send(joinAck());
        resolve();
      });
    });
    return raw;
  }

  /** False when the seat is gone and nothing was sent. */
  send(frame: Uint8Array): boolean {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return false;
    const seq = acceptedSeq(frame);
    if (seq !== null) this.accepted.add(seq);
    this.socket.send(frame);
    return true;
  }

  /**
   * Sends a well-formed act that every role is refused (an unknown command kind) and waits for its
   * rejection: the room handles a client's messages in order, so every frame sent before it has
   * been through intake. Resolves on close too (a frame may have cost the seat).
   */
  async sync(marker: number, timeoutMs = 15_000): Promise<void> {
    if (this.closed) return;
    const answered = new Promise<void>((resolve) => this.syncs.set(marker, resolve));
    this.send(roomDataFrame("act", { seq: marker, command: { kind: "fuzz_sync" } }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`seat did not answer sync ${marker}`)), timeoutMs);
    });
    await Promise.race([answered, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.socket.close();
  }

  private receive(bytes: Uint8Array): void {
    let frame;
    try {
      frame = parseFrame(bytes);
    } catch {
      return; // state and patch frames are not decoded here
    }
    if (frame.code === Protocol.ROOM_DATA_BYTES && "type" in frame && frame.type === "turn") {
      const turn = frame.message as { position?: unknown; id?: unknown };
      if (typeof turn.position === "number" && typeof turn.id === "string")
        this.turnIds.set(turn.position, turn.id);
      return;
    }
    if (frame.code !== Protocol.ROOM_DATA || !("type" in frame)) return;
    const message = frame.message as { seq?: unknown; position?: number; turn?: { id?: string } } | undefined;
    // an ack names its turn by position (the turn came just before it); a duplicate's carries it
    const ackedId = message?.turn?.id ?? this.turnIds.get(message?.position ?? 0);
    if (frame.type === "ack" && typeof ackedId === "string") this.acked.add(ackedId);
    if (frame.type === "rejected") {
      this.rejections++;
      if (typeof message?.seq === "number")
        this.refused.set(message.seq, String((message as { code?: unknown }).code));
      const done = typeof message?.seq === "number" ? this.syncs.get(message.seq) : undefined;
      if (done) {
        this.syncs.delete(message!.seq as number);
        done();
      }
    }
  }
}

const schemas: Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }> = {
  act: actMessageSchema,
  undo: undoMessageSchema,
  retcon: retconMessageSchema,
};

/** The seq of a ROOM_DATA frame whose message its schema accepts, else null. */
function acceptedSeq(frame: Uint8Array): number | null {
  // the room reads the code from the low five bits, as the wire module's parseFrame does
  if (((frame[0] ?? 0) & 0x1f) !== Protocol.ROOM_DATA) return null;
  try {
    const [type, payload] = unpackMultiple(frame.subarray(1)) as [unknown, unknown];
    const parsed = typeof type === "string" ? schemas[type]?.safeParse(payload) : undefined;
    return parsed?.success ? (parsed.data as { seq: number }).seq : null;
  } catch {
    return null;
  }
}
