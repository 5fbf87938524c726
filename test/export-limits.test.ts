import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API, RejectionCode } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { matchMaker, type LoomServer } from "../server/src/app.ts";
import { modes, startServer, TEST_LIMITS, waitFor } from "./support/server.ts";
import { overcome, setTable, type Table } from "./support/players.ts";

/** Exports a player may make; nothing refills during a test (one more every twenty minutes). */
const BURST = 3;
/** Exports the server makes at once. */
const AT_ONCE = 2;

interface Exported {
  status: number;
  code: string | null;
  retryAfter: string | null;
  lines: Array<Record<string, unknown>>;
}

/**
 * Exports read a whole timeline and parse every turn on the thread the rooms share, and any
 * account may ask for a public universe's: a player may make only so many, the process only so
 * many at once, and an export of a universe at rest reads the database without opening its room.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`exports, limited (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;
    let guest: LoomClient;
    let head: number;

    beforeAll(async () => {
      server = await startServer(mode, {
        port: 2682,
        limits: {
          ...TEST_LIMITS,
          exportPerPlayer: { burst: BURST, perSeconds: BURST * 1_200 },
          exportsAtOnce: AT_ONCE,
        },
      });
      // a public universe where a player played a while, then left: its room closes
      table = await setTable(server.url, ["Ada"]);
      await table.gm.setVisibility(table.universeId, "public");
      const ada = table.players[0]!;
      const session = await ada.client.joinUniverse(table.universeId, { role: "player", runId: ada.runId });
      for (let i = 0; i < 12; i++)
        expect((await session.act(overcome(ada.characterId, `step ${i}`))).ok).toBe(true);
      await session.leave();
      await waitFor(() => !roomOpen(), 30_000, "the room to close");
      head = (await table.gm.stateAt(table.universeId)).position;
      guest = connect(server.url);
      await guest.registerPlayer("Passer-by");
    }, 120_000);
    afterAll(async () => {
      await server?.shutdown();
    });

    function roomOpen(): boolean {
      return (
        matchMaker.getLocalRoomById(table.universeId) !== undefined ||
        server.services.ownership.openUniverses().includes(table.universeId)
      );
    }

    async function exportAs(client: LoomClient, format = "jsonl"): Promise<Exported> {
      const response = await fetch(
        `${server.url}/api/universes/${table.universeId}/export?format=${format}`,
        {
          headers: { authorization: `Bearer ${client.playerToken}` },
        },
      );
      const text = await response.text();
      const ok = response.status === 200;
      return {
        status: response.status,
        code: ok ? null : (JSON.parse(text) as { error: { code: string } }).error.code,
        retryAfter: response.headers.get("retry-after"),
        lines:
          ok && format === "jsonl"
            ? text
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line) as Record<string, unknown>)
            : [],
      };
    }

    it("an export of a universe at rest does not open its room, and has every turn", async () => {
      // given a public universe whose room is closed
      expect(roomOpen()).toBe(false);
      // when someone who is not its game master exports it
      const exported = await exportAs(guest);
      // then the file has every turn, in the player's view, and the room is still closed
      expect(exported.status).toBe(200);
      expect(exported.lines[0]).toMatchObject({ type: "header", redacted: true, head });
      expect(exported.lines.filter((line) => line.type === "turn")).toHaveLength(head);
      expect(exported.lines.at(-1)).toMatchObject({ type: "end", turns: head });
      expect(roomOpen()).toBe(false);
      // nor does the game master's: what a closed room held is in the database already
      const gms = await exportAs(table.gm);
      expect(gms.lines.filter((line) => line.type === "turn")).toHaveLength(head);
      expect(roomOpen()).toBe(false);
    });

    it("a player's exports past their limit are refused, while the game master's and others' go on", async () => {
      // given a player who has made their exports
      const ada = table.players[0]!.client;
      for (let i = 0; i < BURST; i++)
        expect((await exportAs(ada, i % 2 ? "markdown" : "jsonl")).status).toBe(200);
      // when they ask for one more
      const refused = await exportAs(ada);
      // then it is refused with a code the route declares, and when to ask again
      expect(refused).toMatchObject({ status: 429, code: RejectionCode.RateLimited });
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(API.export.errors[429]).toContain(refused.code);
      // while the game master and another player still export
      expect((await exportAs(table.gm)).status).toBe(200);
      expect((await exportAs(guest)).status).toBe(200);
    });

    it("exports past the process's cap are refused unavailable, and the refusal spends no one's limit", async () => {
      // given the server making as many exports as it makes at once
      const held = Array.from({ length: AT_ONCE }, () => server.services.limits.startExport("elsewhere"));
      const newcomer = connect(server.url);
      await newcomer.registerPlayer("Newcomer");
      // when another is asked for
      for (let i = 0; i < BURST + 1; i++) {
        const refused = await exportAs(newcomer);
        // then it is refused with a code the route declares, and when to ask again
        expect(refused).toMatchObject({ status: 503, code: RejectionCode.Unavailable });
        expect(refused.retryAfter).toBe("5");
        expect(API.export.errors[503]).toContain(refused.code);
      }
      // and once they end, the refusals have spent none of the player's exports
      for (const slot of held) slot.end();
      for (let i = 0; i < BURST; i++) expect((await exportAs(newcomer)).status).toBe(200);
    });

    it("of exports asked for at once, those past the cap are refused and the others are whole", async () => {
      // given players who each ask for an export, all at the same moment
      const askers = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const client = connect(server.url);
          await client.registerPlayer(`Reader ${i}`);
          return client;
        }),
      );
      const answers = await Promise.all(askers.map((client) => exportAs(client)));
      // then each is a whole file or a refusal for the process's cap
      for (const answer of answers) {
        if (answer.status === 200) expect(answer.lines.at(-1)).toMatchObject({ type: "end", turns: head });
        else expect(answer).toMatchObject({ status: 503, code: RejectionCode.Unavailable, retryAfter: "5" });
      }
      const made = answers.filter((answer) => answer.status === 200).length;
      expect(made).toBeGreaterThanOrEqual(1);
      expect(made).toBeLessThan(answers.length);
      expect(roomOpen()).toBe(false);
    });
  });
}
