import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import { RejectionCode } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import { joinRefusal } from "./support/refusals.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, setTable, type Table } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/** Joins a player may make at once; nothing refills during a test (one more every ten minutes). */
const BURST = 3;

/**
 * A player joining a universe's room and leaving again in a loop: each join may start a play
 * session, a turn for the whole table and another at the leave. Past a burst, joins are refused
 * `rate_limited` before they do anything; other players join as before, and a connection that
 * comes back to its seat is no join.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`joins per player and universe (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;
    let alex: Table["players"][0];
    let bea: Table["players"][0];
    let cara: Table["players"][0];

    beforeAll(async () => {
      server = await startServer(mode, {
        port: 2688,
        joinsPerPlayer: { burst: BURST, perSeconds: BURST * 600 },
        reconnectSeconds: 10,
      });
      table = await setTable(server.url, ["Alex", "Bea", "Cara"]);
      [alex, bea, cara] = table.players as [Table["players"][0], Table["players"][0], Table["players"][0]];
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    const join = (player: Table["players"][0]): Promise<UniverseSession> =>
      player.client.joinUniverse(table.universeId, { role: "player", runId: player.runId });

    async function expectRateLimited(player: Table["players"][0]): Promise<void> {
      const refused = await joinRefusal(join(player));
      expect({ code: refused.code, status: refused.status }).toEqual({
        code: RejectionCode.RateLimited,
        status: 429,
      });
      expect(refused.message).toMatch(/^too many joins here: retry in \d+ s$/);
    }

    /** The session markers of a run in the timeline, once the turns so far are persisted. */
    async function markers(runId: string): Promise<string[]> {
      const page = await table.gm.history(table.universeId, { runId, order: "asc", limit: 500 });
      return page.turns
        .map((turn) => turn.kind)
        .filter((kind) => kind === "session_start" || kind === "session_end");
    }

    /** Waits until a run's last session has ended in the timeline: every turn before is persisted. */
    async function ended(runId: string, sessions: number): Promise<void> {
      await waitFor(
        async () => (await markers(runId)).filter((kind) => kind === "session_end").length === sessions,
        10_000,
        `${sessions} sessions of run ${runId} to end`,
      );
    }

    it("refuses a player's joins past the burst before any session starts, and no one else's", async () => {
      // given Alex joining and leaving as fast as he can, up to the burst
      for (let i = 0; i < BURST; i++) await (await join(alex)).leave();

      // when he joins again, and again
      await expectRateLimited(alex);
      await expectRateLimited(alex);

      // then Bea joins and plays as before
      const beaSession = await join(bea);
      expect(beaSession.state.universeId).toBe(table.universeId);
      await beaSession.leave();
      // and once her session's end is written (after anything the refused joins could have
      // written), the timeline holds Alex's admitted sessions only
      await ended(bea.runId, 1);
      expect(await markers(alex.runId)).toEqual(
        Array.from({ length: BURST }, () => ["session_start", "session_end"]).flat(),
      );
    });

    it("takes no join for a connection back on its seat", async () => {
      // given Cara seated, one join of her burst taken
      const session = await join(cara);
      const seat = (session as unknown as { current: Room }).current;

      // when her connection breaks and comes back to the same seat, more often than her burst allows joins
      for (let i = 0; i < BURST; i++) {
        await breakUntil(session, Promise.resolve());
        expect((session as unknown as { current: Room }).current).toBe(seat);
      }
      await session.leave();

      // then she still has the rest of her burst, and the limit after it
      for (let i = 1; i < BURST; i++) await (await join(cara)).leave();
      await expectRateLimited(cara);
      // and the reconnections started no session of their own
      await ended(cara.runId, BURST);
      expect(await markers(cara.runId)).toEqual(
        Array.from({ length: BURST }, () => ["session_start", "session_end"]).flat(),
      );
    });
  });
}
