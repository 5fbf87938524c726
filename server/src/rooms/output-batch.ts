import type { Client } from "@colyseus/core";

/** The part of a `net.Socket` the batch uses. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
}

/**
 * The TCP socket under a Colyseus WebSocket client: `client.ref` is the `ws` WebSocket, which
 * keeps its socket in `_socket`. Undefined for any other transport (the batch then does nothing
 * for that client and its messages go out one write each, as before).
 */
export function socketOf(client: Client): CorkableSocket | undefined {
  const socket = (client as { ref?: { _socket?: Partial<CorkableSocket> } }).ref?._socket;
  return typeof socket?.cork === "function" && typeof socket.uncork === "function"
    ? (socket as CorkableSocket)
    : undefined;
}

/** The part of a `ws` WebSocket that tells and ends a connection's backlog. */
interface BackloggedSocket {
  /** Bytes queued in this process for the socket: its stream's buffer and what ws holds back. */
  bufferedAmount: number;
  /** Destroys the socket at once: a close frame would wait behind the backlog. */
  terminate(): void;
}

/**
 * Cuts a client off when more than `limit` bytes wait in this process to be sent to it (a client
 * that stopped reading, or reads slower than its table plays, would otherwise keep every frame for
 * it here, without bound). True when it was. The kernel's buffers fill first (a few MB on
 * loopback), so this counts only what the process itself holds.
 */
export function cutOffBacklogged(client: Client, limit: number): boolean {
  const ws = (client as { ref?: Partial<BackloggedSocket> }).ref;
  if (typeof ws?.bufferedAmount !== "number" || ws.bufferedAmount <= limit) return false;
  if (typeof ws.terminate !== "function") return false;
  ws.terminate();
  return true;
}

/**
 * Coalesces everything a turn of the event loop sends to a client into one write.
 *
 * Left alone, every `turn`, ack and patch frame is its own `writev`: a system call per frame per
 * member, each of which on loopback also wakes the reader, so at a busy table the calls outweigh
 * the work that produced the frames (docs/performance.md, "What dominates"). `hold` corks a client's socket (ws's own cork and
 * uncork around a frame nest inside it) and the next check phase uncorks every held socket, so
 * all the frames produced while handling one batch of socket reads leave in one system call.
 * Nothing waits for a timer: at low load a frame goes out at the end of the loop turn that made
 * it, and under load the batches grow by themselves.
 */
export class OutputBatch {
  private held: CorkableSocket[] = [];
  /** Marks a socket with the batch it is held in: a property lookup where a Set was a hash. */
  private readonly mark = Symbol("held");
  private scheduled = false;
  /** Counts flushes: a socket is held in this batch when its mark equals it. */
  private generation = 0;
  private readonly heldBy = new WeakMap<object, number>();

  hold(client: Client): void {
    this.holdSocket(socketOf(client));
  }

  /**
   * Holds any socket until the flush: the live store's connection to Redis, so the appends of
   * every universe whose turns were decided in one loop turn go to Redis in one write.
   */
  holdSocket(target: Partial<CorkableSocket> | undefined | null): void {
    if (typeof target?.cork !== "function" || typeof target.uncork !== "function") return;
    const socket = target as CorkableSocket & Record<symbol, number>;
    if (socket[this.mark] === this.generation) return;
    socket[this.mark] = this.generation;
    socket.cork();
    this.held.push(socket);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Holds every client of `owner` (a room) until the flush. Only the first call of a batch walks
   * the clients; a client that joins later in the same loop turn is simply not held.
   */
  holdAll(owner: object, clients: Iterable<Client>): void {
    if (this.scheduled && this.heldBy.get(owner) === this.generation) return;
    for (const client of clients) this.hold(client);
    this.heldBy.set(owner, this.generation);
  }

  /** Sends everything held (called on the check phase after the first hold; safe to call early). */
  flush(): void {
    this.scheduled = false;
    this.generation += 1;
    const sockets = this.held;
    this.held = [];
    for (const socket of sockets) socket.uncork();
  }

  /** Sockets corked and waiting for the flush. */
  get size(): number {
    return this.held.length;
  }
}

/** One batch for the process: the event loop it follows is the process's. */
export const outputBatch = new OutputBatch();
