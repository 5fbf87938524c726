import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { factPath, readFact, type Delta } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { joinAll, setTable } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/** The turns a room keeps at hand (authority.ts): a turn further back is read from the database. */
const KEPT = 200;

function fact(id: string, value: string): Delta {
  return {
    op: "set",
    path: factPath(id),
    value: { id, type: "note", value, confidence: 1, sourcePosition: 0, supersededAt: null },
  };
}

async function said(session: UniverseSession, characterId: string, text: string): Promise<number> {
  const result = await session.act({ kind: "custom", characterId, text });
  if (!result.ok) throw new Error(`refused: ${result.rejection.message}`);
  return result.turn.position;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a far undo while the table plays (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2635 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a game master's undo of a turn older than the kept window is decided, not refused, while players act", async () => {
      // given ten facts the game master set long ago, and one more that a later turn set again
      const table = await setTable(server.url, ["Ash", "Birch", "Cedar"]);
      const sessions = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const event = async (text: string, deltas: Delta[]) => {
        const result = await gm.act({ kind: "world_event", text, major: false, deltas });
        if (!result.ok) throw new Error(`refused: ${result.rejection.message}`);
        return result.turn.position;
      };
      const untouched: number[] = [];
      for (let i = 0; i < 10; i++) untouched.push(await event(`old ${i}`, [fact(`old${i}`, "o")]));
      const overwritten = await event("the ferry", [fact("ferry", "afloat")]);
      await event("the ferry again", [fact("ferry", "sunk")]);
      // and more turns since than the room keeps
      for (let round = 0; round < KEPT / 3 + 20; round++)
        await Promise.all(
          sessions.map((session, i) => said(session, table.players[i]!.characterId, `fills ${round}`)),
        );

      // when the players act without a pause while the game master undoes those turns
      let playing = true;
      const play = sessions.map(async (session, i) => {
        for (let n = 0; playing; n++) await said(session, table.players[i]!.characterId, `plays ${n}`);
      });
      const outcome = async (position: number) =>
        table.gm.undo(table.universeId, position).then(
          (turn) =>
            turn.input.targetPosition === position ? "ok" : `undid ${String(turn.input.targetPosition)}`,
          (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
        );
      const outcomes: string[] = [];
      try {
        for (const position of [...untouched, overwritten]) outcomes.push(await outcome(position));
      } finally {
        playing = false;
        await Promise.all(play);
      }

      // then every undo the rules allow is taken, and the one a later turn overwrote is refused for it
      expect(outcomes).toEqual([
        ...untouched.map(() => "ok"),
        expect.stringMatching(/^undo_conflict: turn \d+ changed what turn \d+ changed$/),
      ]);
      const { state } = await table.gm.stateAt(table.universeId);
      for (let i = 0; i < 10; i++) expect(readFact(state, `old${i}`)).toBeUndefined();
      expect(readFact(state, "ferry")?.value).toBe("sunk");
      for (const session of [...sessions, gm]) await session.leave();
    });
  });
}
