import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../client-sdk/src/index.ts";
import { modes, spawnServer, startServer, tempDir, waitFor, type Mode } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

interface Dashboard {
  head: number;
  durableThrough: number;
  persistedThrough: number;
  runs: Array<{ runId: string; characterName: string | null; state: string; present: boolean }>;
  narration: { window: number; untold: number };
}

async function dashboard(
  url: string,
  universeId: string,
  token: string | null,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/api/universes/${universeId}/dashboard`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: await response.json() };
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`the game master's dashboard (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2651 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("shows who is playing, the head, what is persisted and what is still being told; GMs only", async () => {
      // given a universe with two characters, one of them at the table and acting
      const table = await setTable(server.url, ["Mara", "Tamsin"]);
      const [mara, tamsin] = table.players;
      const session = await mara!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: mara!.runId,
      });
      const result = await session.act(overcome(mara!.characterId));
      if (!result.ok) throw new Error(result.rejection.message);
      const turn = result.turn;
      await session.narrationText(turn.position);

      // when the GM reads the dashboard, once the session and the turn are persisted
      let shown: Dashboard | null = null;
      await waitFor(
        async () => {
          const answer = await dashboard(server.url, table.universeId, table.gm.playerToken);
          shown = answer.body as Dashboard;
          return (
            answer.status === 200 && shown.persistedThrough >= turn.position && shown.narration.untold === 0
          );
        },
        15_000,
        "the dashboard to show the persisted, narrated turn",
      );

      // then it lists both runs, Mara present and Tamsin away, at the head
      const seen = shown!;
      expect(seen.head).toBe(turn.position);
      expect(seen.runs.map((run) => [run.characterName, run.state, run.present]).sort()).toEqual([
        ["Mara", "active", true],
        ["Tamsin", "active", false],
      ]);
      expect(seen.narration.window).toBe(turn.position);

      // and a player of the universe, or nobody, is refused
      expect((await dashboard(server.url, table.universeId, tamsin!.client.playerToken)).status).toBe(403);
      expect((await dashboard(server.url, table.universeId, null)).status).toBe(401);
      await session.leave();
    });
  });
}

/**
 * Where a turn is durable before the database has it: the embedded write-ahead log (fdatasync
 * before the ack) and Redis' stream hold every acknowledged turn; a memory live store holds
 * nothing across a restart, so there only what is persisted is durable.
 */
const variants: Array<{ name: string; mode: Mode; dataDir?: string; durableOnAck: boolean }> = [
  { name: "embedded, memory live store", mode: modes()[0]!, durableOnAck: false },
  { name: "embedded, write-ahead log on disk", mode: modes()[0]!, dataDir: tempDir(), durableOnAck: true },
  { name: "postgres+redis", mode: modes()[1]!, durableOnAck: true },
];

for (const variant of variants) {
  describe.skipIf(!variant.mode.available)(`the dashboard's durable mark (${variant.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      // persistence held back (a tick every 10 minutes), so that acknowledged is not persisted
      server = await startServer(variant.mode, {
        port: 2652,
        persistIntervalMs: 600_000,
        ...(variant.dataDir ? { dataDir: variant.dataDir } : {}),
      });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("is the live store's durable position while turns wait for the database, then the database's", async () => {
      // given turns acknowledged while persistence waits for its next tick
      const table = await setTable(server.url, ["Mara"]);
      const [mara] = table.players;
      const session = await mara!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: mara!.runId,
      });
      let last = 0;
      for (let i = 0; i < 3; i++) {
        const result = await session.act(overcome(mara!.characterId));
        if (!result.ok) throw new Error(result.rejection.message);
        last = result.turn.position;
      }

      // when the GM reads the dashboard
      const before = (await dashboard(server.url, table.universeId, table.gm.playerToken)).body as Dashboard;

      // then the head is the newest turn, the database has less, and durable is where the live store
      // keeps turns: every acknowledged one, or (memory) only what the database has
      expect(before.head).toBe(last);
      expect(before.persistedThrough).toBeLessThan(last);
      expect(before.durableThrough).toBe(variant.durableOnAck ? last : before.persistedThrough);
      await expect.poll(() => session.state.durableThrough).toBe(before.durableThrough);

      // and once the GM's snapshot has persisted everything, all three agree
      await table.gm.snapshot(table.universeId);
      const after = (await dashboard(server.url, table.universeId, table.gm.playerToken)).body as Dashboard;
      expect([after.head, after.durableThrough, after.persistedThrough]).toEqual([last, last, last]);
      await session.leave();
    });
  });
}

for (const mode of modes())
  describe.skipIf(!mode.available)(`the dashboard after a kill -9 (${mode.name})`, () => {
    it("shows a player whose server died away, though nobody opened her universe since, and present again once she is back", async () => {
      const env = {
        LOOM_DATA_DIR: tempDir("loom-dashboard-"),
        DATABASE_URL: mode.databaseUrl ?? "",
        REDIS_URL: mode.redisUrl ?? "",
        LOOM_LEASE_TTL_MS: "2000",
      };
      let server = await spawnServer(env, 2658);
      try {
        // given Mara at the table, acting, when her server is killed
        const table = await setTable(server.url, ["Mara"]);
        const [mara] = table.players;
        const player = connect(server.url, { failoverMs: 0 }).useToken(mara!.client.playerToken!);
        const seat = await player.joinUniverse(table.universeId, { role: "player", runId: mara!.runId });
        const acted = await seat.act(overcome(mara!.characterId));
        if (!acted.ok) throw new Error(acted.rejection.message);
        const presentNow = async () => {
          const answer = await dashboard(server.url, table.universeId, table.gm.playerToken);
          expect(answer.status).toBe(200);
          return (answer.body as Dashboard).runs.find((run) => run.runId === mara!.runId)!.present;
        };
        await waitFor(presentNow, 10_000, "Mara present");
        server.process.kill("SIGKILL");
        await server.stop();

        // when a server starts again and the game master looks, nobody having joined the universe
        server = await spawnServer(env, 2658);
        const gm = connect(server.url).useToken(table.gm.playerToken!);
        // then Mara is away (at once embedded; once the dead process's lease lapses with Redis)
        await waitFor(async () => !(await presentNow()), 10_000, "Mara shown away");
        // and her session is still open in the records: only opening the universe closes it
        expect((await gm.runSessions(mara!.runId)).at(-1)!.endPosition).toBeNull();

        // when she comes back, she is present again
        const again = connect(server.url).useToken(mara!.client.playerToken!);
        const back = await again.joinUniverse(table.universeId, { role: "player", runId: mara!.runId });
        await waitFor(presentNow, 10_000, "Mara present again");
        expect((await gm.runSessions(mara!.runId)).map((session) => session.endReason)).toEqual([
          "interrupted",
          null,
        ]);
        await back.leave();
      } finally {
        await server.stop("SIGKILL");
      }
    }, 120_000);
  });
