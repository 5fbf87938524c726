import { describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import { connect } from "../client-sdk/src/index.ts";
import { captureLog } from "../server/src/log.ts";
import { modes, startServer, tempDir, waitFor } from "./support/server.ts";
import { breakUntil, sheet } from "./support/players.ts";

/**
 * A server stopping while seats wait for lost connections to come back: the sessions it ends for
 * them ("interrupted") are persisted before it stops, as every other turn is, not left in the
 * write-ahead log for the next start to write.
 */
const embedded = modes().find((mode) => mode.name === "embedded")!;

describe("a stop with seats kept for lost connections (embedded)", () => {
  it("persists the sessions it ends for them before it stops", async () => {
    const dataDir = tempDir("loom-kept-seats-");
    const first = await startServer(embedded, { port: 2636, dataDir, inMemory: false, reconnectSeconds: 30 });
    const gm = connect(first.url);
    await gm.registerPlayer("GM");
    const universe = await gm.createUniverse({ name: "Last Ferry", visibility: "public" });
    const players: Array<{ player: ReturnType<typeof connect>; id: string; run: { id: string } }> = [];
    for (const name of ["Mara", "Kell"]) {
      const player = connect(first.url, { failoverMs: 0 });
      const { player: record } = await player.registerPlayer(name);
      const { character, run } = await player.createCharacter(universe.id, sheet(name));
      const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
      const acted = await session.act({ kind: "custom", characterId: character.id, text: "boards" });
      if (!acted.ok) throw new Error(acted.rejection.message);
      // the network goes and does not come back before the server stops
      void breakUntil(session, new Promise(() => undefined));
      players.push({ player, id: record.id, run });
    }
    const seated = (playerId: string) =>
      matchMaker
        .getLocalRoomById(universe.id)
        .clients.some((client) => (client.auth as { playerId?: string })?.playerId === playerId);
    await waitFor(
      () => players.every(({ id }) => !seated(id)),
      5_000,
      "the server to see both connections drop",
    );
    await first.shutdown();

    const said: string[] = [];
    const stop = captureLog((line) => said.push(line), "info");
    const second = await startServer(embedded, { port: 2636, dataDir, inMemory: false });
    stop();
    try {
      // nothing was left for the write-ahead log to write at the next start
      expect(said.filter((line) => line.includes("the write-ahead log held"))).toEqual([]);
      const reader = connect(second.url).useToken(gm.playerToken!);
      const ends = (await reader.history(universe.id, { kind: "session_end", limit: 10 })).turns;
      expect(ends.map((turn) => (turn.input as { reason?: string }).reason)).toEqual([
        "interrupted",
        "interrupted",
      ]);
      for (const { player, run } of players) {
        const again = connect(second.url).useToken(player.playerToken!);
        expect((await again.runSessions(run.id)).every((session) => session.endPosition !== null)).toBe(true);
      }
    } finally {
      await second.shutdown();
    }
  }, 60_000);
});
