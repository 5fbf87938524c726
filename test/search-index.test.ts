import { afterEach, describe, expect, it } from "vitest";
import type { LoomClient } from "../client-sdk/src/index.ts";
import { services } from "../server/src/services.ts";
import type { LoomServer } from "../server/src/app.ts";
import { modes, startServer, tempDir, waitFor } from "./support/server.ts";
import { joinAll, overcome, setTable } from "./support/players.ts";

/**
 * Full-text search behind the log, through the server: a turn is found by the timeline's search
 * as soon as it is persisted, though the indexer has not written its document (it is held back
 * for the test); after a restart the server's indexer catches up from the marks the last process
 * left, and the same searches find the same turns from the index.
 */

const TURNS = 70;
/** A word of its own for every tenth turn, and one every turn shares. */
const wordOf = (i: number) => `quillmark${String.fromCharCode(97 + Math.floor(i / 10))}`;

async function positionsFound(gm: LoomClient, universeId: string, q: string): Promise<number[]> {
  const page = await gm.history(universeId, { q, limit: 500, order: "asc" });
  return page.turns.map((turn) => turn.position);
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`search behind the log (${mode.name})`, () => {
    let server: (LoomServer & { url: string }) | null = null;
    afterEach(async () => {
      await server?.shutdown();
      server = null;
    });

    it("finds a turn once persisted, before its document is written; a restart indexes what was left", async () => {
      const dataDir = tempDir();
      // given a server whose indexer does not run on its own, and a player's turns persisted
      server = await startServer(mode, { dataDir, searchIndexDelayMs: 3_600_000 });
      const table = await setTable(server.url, ["Mara"]);
      const [session] = await joinAll(table);
      const { characterId } = table.players[0]!;
      const mine = new Map<string, number[]>();
      for (let i = 0; i < TURNS; i++) {
        const result = await session!.act(overcome(characterId, `wades past the ${wordOf(i)} reeds`));
        if (!result.ok) throw new Error(`refused: ${result.rejection.code}`);
        const word = wordOf(i);
        mine.set(word, [...(mine.get(word) ?? []), result.turn.position]);
      }
      const head = Math.max(...[...mine.values()].flat());
      await waitFor(() => session!.persistedThrough >= head, 10_000, "persisted");
      expect(await services().turnStore.headPosition(table.universeId)).toBeGreaterThanOrEqual(head);

      // then each turn is found by its word at once, nothing having been indexed
      expect(await services().turnStore.searchIndexedThrough(table.universeId)).toBe(0);
      for (const [word, positions] of mine)
        expect(await positionsFound(table.gm, table.universeId, word), word).toEqual(positions);

      // when the server stops and another starts on the same database, its indexer running
      await session!.leave();
      await server.shutdown();
      server = await startServer(mode, { dataDir });
      const stored = await services().turnStore.headPosition(table.universeId);
      // then it indexes the universe through its last whole block of 32 without a turn appended
      await waitFor(
        async () =>
          (await services().turnStore.searchIndexedThrough(table.universeId)) ===
          Math.floor(stored / 32) * 32,
        30_000,
        "the indexer to catch up",
      );
      expect(Math.floor(stored / 32) * 32).toBeGreaterThanOrEqual(64);
      // and every search finds what it found before
      const gm = table.gm;
      for (const [word, positions] of mine)
        expect(await positionsFound(gm, table.universeId, word), word).toEqual(positions);
    }, 120_000);
  });
}
