import { createServer, Socket, type AddressInfo, type Server } from "node:net";

export interface SilenceableRelay {
  server: Server;
  /** The target's URL with the relay's address in its place. */
  url: string;
  /**
   * The connections open now go silent (those whose client sent `marker`, when given); later ones
   * are relayed.
   */
  silence(marker?: string): void;
  close(): Promise<void>;
}

/**
 * A TCP relay that can stop relaying without closing: a connection that goes silent, as one does
 * when a host freezes or a cable is pulled, which no `close` event announces.
 */
export async function silenceableRelay(target: URL): Promise<SilenceableRelay> {
  const live: Array<{ client: Socket; upstream: Socket; silent: boolean; sent: string }> = [];
  const server = createServer((client) => {
    const upstream = new Socket().connect(Number(target.port), target.hostname);
    const pair = { client, upstream, silent: false, sent: "" };
    live.push(pair);
    client.on("data", (data) => {
      // what a client says first names it (a Redis CLIENT SETNAME, a Postgres application_name)
      if (pair.sent.length < 4096) pair.sent += data.toString("latin1");
      if (!pair.silent) upstream.write(data);
    });
    upstream.on("data", (data) => pair.silent || client.write(data));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target.href);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as AddressInfo).port);
  return {
    server,
    url: url.href,
    silence: (marker) =>
      live.forEach((pair) => {
        if (marker === undefined || pair.sent.includes(marker)) pair.silent = true;
      }),
    close: async () => {
      for (const pair of live) pair.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
