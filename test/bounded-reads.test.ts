import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECAP_LIMITS, type Turn } from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";
import { services } from "../server/src/services.ts";
import type { TurnStore } from "../server/src/persist/turn-store.ts";

/**
 * Reads any player can cause do not grow with a universe's history: a fresh run's recap reads
 * the run's own newest turns and the newest major turns of others, not the timeline; a diff
 * spans a bounded range.
 */

/** Counts the turns the server's turn store hands back while `during` runs. */
async function turnsRead(during: () => Promise<unknown>): Promise<number> {
  const store = services().turnStore as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  let read = 0;
  const count = (result: unknown): void => {
    if (Array.isArray(result)) read += result.filter((item) => (item as Turn)?.position !== undefined).length;
    else if (result && typeof result === "object" && Array.isArray((result as { turns?: unknown }).turns))
      read += (result as { turns: unknown[] }).turns.length;
    else if ((result as Turn | null)?.position !== undefined) read += 1;
  };
  for (const name of ["getTurn", "turnsBetween", "timeline", "awayTurns"] satisfies Array<keyof TurnStore>) {
    const original = store[name];
    if (typeof original !== "function") continue;
    originals.set(name, original);
    store[name] = async (...args: unknown[]) => {
      const result: unknown = await (original as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      count(result);
      return result;
    };
  }
  try {
    await during();
  } finally {
    for (const [name, original] of originals) store[name] = original;
  }
  return read;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`bounded reads (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a fresh run's recap reads a bounded number of turns however long the universe, and counts the rest", async () => {
      // given a universe with 600 world events, one in three major
      const gm = connect(server.url);
      await gm.registerPlayer("Game Master");
      const universe = await gm.createUniverse({ name: "Long Tides", visibility: "public" });
      const session = await gm.joinUniverse(universe.id, { role: "gm" });
      const total = 600;
      let head = 0;
      for (let i = 0; i < total; i += 50) {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            session.act({ kind: "world_event", text: `Tide ${i + j}`, major: (i + j) % 3 === 0 }),
          ),
        );
        for (const result of results) head = Math.max(head, result.ok ? result.turn.position : 0);
      }
      expect(head).toBe(total);
      await waitFor(() => session.persistedThrough >= head, 10_000, "persisted");
      await session.leave();

      // when a new player's fresh run asks for its recap
      const player = connect(server.url);
      await player.registerPlayer("Ada");
      const { run } = await player.createCharacter(universe.id, sheet("Ada"));
      let recap: Awaited<ReturnType<typeof player.recap>> | undefined;
      const read = await turnsRead(async () => {
        recap = await player.recap(run.id);
      });

      // then it shows the newest major events, counts the others, and read no more than it shows
      expect(recap!.whileYouWereAway.map((entry) => entry.text)).toEqual(
        Array.from({ length: RECAP_LIMITS.whileYouWereAway }, (_, i) => `Tide ${total - 60 + 3 * i}`),
      );
      expect(recap!.omitted.whileYouWereAway).toBe(total / 3 - RECAP_LIMITS.whileYouWereAway);
      expect(read).toBeLessThanOrEqual(RECAP_LIMITS.whileYouWereAway + 100);
    }, 60_000);

    it("a diff spans at most 1,000 turns, forward: a wider or backward one is refused with a code", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Game Master");
      const universe = await gm.createUniverse({ name: "Diffs", visibility: "public" });
      const diff = (from: number, to: number) =>
        fetch(`${server.url}/api/universes/${universe.id}/diff?from=${from}&to=${to}`, {
          headers: { authorization: `Bearer ${gm.playerToken}` },
        });
      const wide = await diff(0, 1_000_001);
      expect(wide.status).toBe(400);
      expect(((await wide.json()) as { error: { code: string } }).error.code).toBe("range_too_large");
      // a range backwards is refused, not answered with the deltas that run forward over it
      for (const [from, to] of [
        [5_000, 1],
        [5, 2],
      ]) {
        const reversed = await diff(from!, to!);
        expect(reversed.status).toBe(400);
        expect(((await reversed.json()) as { error: { code: string; message: string } }).error).toMatchObject(
          {
            code: "invalid_message",
            message: expect.stringContaining("runs forward") as string,
          },
        );
      }
      const fine = await diff(0, 1_000);
      expect(fine.status).toBe(200);
      expect(await fine.json()).toMatchObject({ from: 0, to: 1_000, deltas: [] });
    }, 30_000);

    it("one player's heavy reads are made two at a time: dozens at once wait their turn or are refused, and another player's are not held up", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Game Master");
      const universe = await gm.createUniverse({ name: "Many Reads", visibility: "public" });
      const session = await gm.joinUniverse(universe.id, { role: "gm" });
      for (let i = 0; i < 20; i++)
        await session.act({ kind: "world_event", text: `Tide ${i}`, major: false });
      const reader = connect(server.url);
      const { player } = await reader.registerPlayer("Reader");
      const jump = (token: string, position: number) =>
        fetch(`${server.url}/api/universes/${universe.id}/jump?position=${position}`, {
          headers: { authorization: `Bearer ${token}` },
        });
      const lines = server.services.limits.readLines;
      let most = 0;
      const sample = setInterval(() => (most = Math.max(most, lines.get(player.id)?.slots.inUse ?? 0)), 1);
      try {
        const burst = Array.from({ length: 60 }, (_, i) => jump(reader.playerToken!, 1 + (i % 20)));
        // another player's read is made beside them
        const other = await jump(gm.playerToken!, 3);
        expect(other.status).toBe(200);
        const statuses = await Promise.all(burst.map(async (answer) => (await answer).status));
        expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
        expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
        expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(34);
      } finally {
        clearInterval(sample);
      }
      expect(most).toBeLessThanOrEqual(2);
      expect(most).toBeGreaterThan(0);
      // nothing is held once they are answered
      await waitFor(() => !lines.has(player.id), 5_000, "the reader's reads to be let go");
      expect((await jump(reader.playerToken!, 5)).status).toBe(200);
      await session.leave();
    }, 60_000);
  });
}
