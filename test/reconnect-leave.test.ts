import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * A session whose connection was lost and that came back by joining again (the SDK's failover)
 * rather than through Colyseus's reconnection, then left: its play session ends at the leave, as
 * one that never lost its connection, not when the seat the server kept for the lost connection
 * runs out.
 */

/** Far longer than a test waits for a session's end: a session ending only at its lapse fails. */
const RECONNECT_SECONDS = 10;

async function act(session: UniverseSession, characterId: string, text: string): Promise<void> {
  const result = await session.act({ kind: "custom", characterId, text });
  if (!result.ok) throw new Error(`turn refused: ${result.rejection.code} ${result.rejection.message}`);
}

/**
 * Closes the session's socket with a close the SDK does not take the same seat back after: it
 * rejoins through the matchmaker, as when the same seat could not be had back in time, while the
 * server still keeps that seat for the lost connection.
 */
async function dropAndRejoin(session: UniverseSession): Promise<void> {
  const back = new Promise<void>((resolve) => {
    const stop = session.on("reconnected", () => {
      stop();
      resolve();
    });
  });
  const seat = (session as unknown as { current: Room }).current;
  (seat.connection.transport as unknown as { ws: WebSocket }).ws.close(3001, "the network went");
  await back;
  expect((session as unknown as { current: Room }).current).not.toBe(seat);
}

async function sessionsEnded(player: LoomClient, runId: string): Promise<void> {
  await waitFor(
    async () => (await player.runSessions(runId)).every((session) => session.endPosition !== null),
    (RECONNECT_SECONDS * 1000) / 2,
    "the sessions' ends",
  );
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a leave after a rejoin (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2629, reconnectSeconds: RECONNECT_SECONDS });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("ends the session at the leave: coming straight back starts a new one, with a recap", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Flicker", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const evening = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
      await act(evening, character.id, "crosses the ford");
      await dropAndRejoin(evening);
      await act(evening, character.id, "climbs the bank");
      const leftAt = Date.now();
      expect(await evening.leave()).toBe(4000);
      await new Promise((resolve) => setTimeout(resolve, 200));

      const again = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
      expect(again.lastRecap).not.toBeNull();
      await again.leave();
      await sessionsEnded(player, run.id);
      const sessions = await player.runSessions(run.id);
      expect(sessions).toHaveLength(2);
      const end = await gm.turn(universe.id, sessions[0]!.endPosition!);
      expect(end.input.through).toBeUndefined();
      expect(end.input.endedAt).toBeUndefined();
      expect(Date.parse(end.createdAt)).toBeLessThan(leftAt + 1_000);
      expect(again.lastRecap!.previousSessionEnd).toBe(end.position);
    }, 60_000);

    it("gives the seat up when the tab that rejoined leaves: the other tab's leave ends the session", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({ name: "Two Lamps", visibility: "public" });
      const player = connect(server.url);
      await player.registerPlayer("Mara");
      const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
      const tab = connect(server.url).useToken(player.playerToken!, player.refreshToken);
      const first = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
      await dropAndRejoin(first);
      const second = await tab.joinUniverse(universe.id, { role: "player", runId: run.id });
      expect(second.lastRecap).toBeNull();
      await act(first, character.id, "lights the lamp");
      await first.leave();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await act(second, character.id, "trims the wick");
      const leftAt = Date.now();
      await second.leave();

      await sessionsEnded(player, run.id);
      const sessions = await player.runSessions(run.id);
      expect(sessions).toHaveLength(1);
      const end = await gm.turn(universe.id, sessions[0]!.endPosition!);
      expect(end.input.through).toBeUndefined();
      expect(end.input.endedAt).toBeUndefined();
      expect(Date.parse(end.createdAt)).toBeLessThan(leftAt + 1_000);
      expect((await player.run(run.id)).turnCount).toBe(2);
    }, 60_000);
  });
}
