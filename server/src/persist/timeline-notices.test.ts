import { createServer, Socket, type AddressInfo, type Server } from "node:net";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeFeed, EVERYTHING, type TimelineChange } from "./timeline-changes.ts";
import { TIMELINE_CHANNEL, TimelineNotices } from "./timeline-notices.ts";

const databaseUrl = process.env.DATABASE_URL;

/**
 * A TCP relay to Postgres that can stop relaying without closing: a connection that goes silent,
 * as one does when a host freezes or a cable is pulled, which no `close` event announces.
 */
function silenceableRelay(target: URL): { server: Server; silence: () => void } {
  const live: Array<{ client: Socket; upstream: Socket; silent: boolean }> = [];
  const server = createServer((client) => {
    const upstream = new Socket().connect(Number(target.port || 5432), target.hostname);
    const pair = { client, upstream, silent: false };
    live.push(pair);
    client.on("data", (data) => pair.silent || upstream.write(data));
    upstream.on("data", (data) => pair.silent || client.write(data));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return {
    server,
    // the connections open now go silent; later ones are relayed
    silence: () => live.forEach((pair) => (pair.silent = true)),
  };
}

// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!databaseUrl)("timeline notices from the database", () => {
  let relay: ReturnType<typeof silenceableRelay>;
  let sql: postgres.Sql;
  beforeAll(async () => {
    relay = silenceableRelay(new URL(databaseUrl!));
    await new Promise<void>((resolve) => relay.server.listen(0, "127.0.0.1", resolve));
    sql = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    relay?.server.close();
  });

  it("tells what another connection announced, and drops everything once its connection stops hearing", async () => {
    // given notices heard through a relay, with a heartbeat every 100 ms
    const url = new URL(databaseUrl!);
    url.hostname = "127.0.0.1";
    url.port = String((relay.server.address() as AddressInfo).port);
    // other tests' writes to the same database are heard too: this one's universe is its own
    const universe = `far-off-${process.pid}-${Date.now()}`;
    const feed = new ChangeFeed();
    const told: TimelineChange[] = [];
    feed.watchChanges((change) => told.push(change));
    const notices = new TimelineNotices(url.href, feed, { beatMs: 100 });
    try {
      await notices.start();
      expect(notices.watching()).toBe(true);
      // when another connection announces a change to a universe's record
      await sql`select pg_notify(${TIMELINE_CHANNEL}, ${JSON.stringify({ r: [universe] })})`;
      await notices.sync();
      // then it is told
      expect(told).toContainEqual({ records: [universe], heads: [], turns: [] });

      // when the connection goes silent without closing
      relay.silence();
      // then the heartbeat finds it deaf: nothing may be kept, and everything is told as changed
      await expect.poll(() => notices.watching(), { timeout: 10_000, interval: 20 }).toBe(false);
      expect(told).toContainEqual(EVERYTHING);
      // and a new connection is made, through which notices are heard again
      await expect.poll(() => notices.watching(), { timeout: 10_000, interval: 20 }).toBe(true);
      await sql`select pg_notify(${TIMELINE_CHANNEL}, ${JSON.stringify({ h: [universe] })})`;
      await notices.sync();
      expect(told).toContainEqual({ records: [], heads: [universe], turns: [] });
    } finally {
      await notices.close();
    }
  }, 30_000);
});
