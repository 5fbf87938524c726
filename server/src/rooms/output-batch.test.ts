import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Client } from "@colyseus/core";
import { OutputBatch, socketOf } from "./output-batch.ts";
import { countWrites, receivedText } from "./testing/socket-writes.ts";

/** A Colyseus client as the ws transport shapes it: `ref` is the WebSocket, `_socket` its TCP socket. */
const clientOn = (socket: unknown) => ({ ref: { _socket: socket } }) as unknown as Client;

const nextCheckPhase = () => new Promise((resolve) => setImmediate(resolve));

describe("OutputBatch", () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** A connected loopback pair: the server's end (which the batch writes on) and the reader's. */
  async function pair(): Promise<{ writer: Socket; reader: Socket }> {
    server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const accepted = once(server, "connection");
    const reader = connect(port, "127.0.0.1");
    const [writer] = (await accepted) as [Socket];
    sockets.push(reader, writer);
    return { writer, reader };
  }

  /** A pair, what its reader receives, the writer's writes, and a batch for the writer's client. */
  async function batched() {
    const { writer, reader } = await pair();
    const received: Buffer[] = [];
    reader.on("data", (chunk: Buffer) => received.push(chunk));
    return {
      writer,
      received,
      writes: countWrites(writer),
      batch: new OutputBatch(),
      client: clientOn(writer),
    };
  }

  it("sends what a loop turn wrote to a client in one write, in order", async () => {
    const { writer, received, writes, batch, client } = await batched();

    batch.hold(client);
    writer.write("ack;");
    batch.hold(client); // holding twice is one hold
    writer.write("turn;");
    writer.write("patch;");
    expect(writes).toEqual([]);
    expect(batch.size).toBe(1);

    await nextCheckPhase();
    expect(writes).toEqual([3]);
    expect(batch.size).toBe(0);
    expect(await receivedText(received, 15)).toBe("ack;turn;patch;");

    // after the flush the socket writes at once again
    writer.write("later;");
    expect(writes).toEqual([3, 1]);
  });

  it("walks a room's clients once per batch and holds them again after the flush", async () => {
    const corks: string[] = [];
    const fake = (name: string) => ({
      cork: () => corks.push(`cork ${name}`),
      uncork: () => corks.push(`uncork ${name}`),
    });
    const room = {};
    const a = clientOn(fake("a"));
    const b = clientOn(fake("b"));
    const batch = new OutputBatch();

    batch.holdAll(room, [a]);
    batch.holdAll(room, [a, b]); // same batch: not walked again
    expect(corks).toEqual(["cork a"]);
    await nextCheckPhase();
    expect(corks).toEqual(["cork a", "uncork a"]);

    batch.holdAll(room, [a, b]);
    batch.flush();
    expect(corks.slice(2)).toEqual(["cork a", "cork b", "uncork a", "uncork b"]);
  });

  it("leaves clients of other transports alone", async () => {
    const batch = new OutputBatch();
    expect(socketOf({ ref: {} } as unknown as Client)).toBeUndefined();
    expect(socketOf({} as unknown as Client)).toBeUndefined();
    batch.hold({ ref: { _socket: { cork: 1 } } } as unknown as Client);
    expect(batch.size).toBe(0);
  });
});
