import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeFeed, EVERYTHING, type TimelineChange } from "./timeline-changes.ts";
import { TIMELINE_CHANNEL, TimelineNotices } from "./timeline-notices.ts";
import { silenceableRelay, type SilenceableRelay } from "../testing/silenceable-relay.ts";

const databaseUrl = process.env.DATABASE_URL;

// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!databaseUrl)("timeline notices from the database", () => {
  let relay: SilenceableRelay;
  let sql: postgres.Sql;
  beforeAll(async () => {
    const target = new URL(databaseUrl!);
    target.port ||= "5432";
    relay = await silenceableRelay(target);
    sql = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await relay?.close();
  });

  it("tells what another connection announced, and drops everything once its connection stops hearing", async () => {
    // given notices heard through a relay, with a heartbeat every 100 ms
    // other tests' writes to the same database are heard too: this one's universe is its own
    const universe = `far-off-${process.pid}-${Date.now()}`;
    const feed = new ChangeFeed();
    const told: TimelineChange[] = [];
    feed.watchChanges((change) => told.push(change));
    const notices = new TimelineNotices(relay.url, feed, { beatMs: 100 });
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
