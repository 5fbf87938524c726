import { cpSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom as seeded } from "@loom/shared/testing";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { spawnServer, spawnServers, tempDir, waitFor, type ChildServer } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import { recordsSettle } from "./support/records.ts";
import { loom } from "./support/cli.ts";

// What a client was told is acknowledged must survive kill -9 of the server that owns the
// universe, whatever the moment, and the records (runs, sessions, progression) must equal a fresh
// projection of the log afterwards: in embedded mode on disk (one process, restarted), and with
// Postgres + Redis (two processes: the owner dies, the other takes over, a new one joins).
const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

interface Setup {
  name: string;
  skip: boolean;
  env: () => Record<string, string>;
  /** Processes serving at once. */
  processes: number;
}

const setups: Setup[] = [
  {
    name: "embedded mode on disk",
    skip: false,
    env: () => ({ DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir("loom-kill9-") }),
    processes: 1,
  },
  {
    name: "two processes on Postgres + Redis",
    skip: !databaseUrl || !redisUrl,
    env: () => ({ DATABASE_URL: databaseUrl ?? "", REDIS_URL: redisUrl ?? "", LOOM_LEASE_TTL_MS: "1500" }),
    processes: 2,
  },
];

interface Acked {
  position: number;
  id: string;
}

/** Settles with the promise, or with undefined once `ms` pass (an act in flight at a kill never answers). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

for (const setup of setups)
  describe.skipIf(setup.skip)(setup.name, () => {
    const children: ChildServer[] = [];
    afterEach(async () => {
      await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
    });

    it("keeps every acknowledged turn across kill -9 at random moments", async () => {
      const seed = Number(process.env.LOOM_TEST_SEED ?? Date.now() % 100_000);
      const random = seeded(seed);
      // Persisting rarely leaves many acknowledged turns only in the write-ahead log at the kill.
      const env = { ...setup.env(), LOOM_PERSIST_INTERVAL_MS: "400" };
      let port = 2621;
      // the processes boot side by side (a deployment's do); each one's start is seconds of CPU
      const serving = await spawnServers(
        Array.from({ length: setup.processes }, () => ({ env, port: port++ })),
      );
      children.push(...serving);
      // the first process serves the players (and owns the universe); the kill is for it
      let server = serving[0]!;
      const table = await setTable(server.url, ["Alex", "Bea"]);
      const acked: Acked[] = [];
      const errors: string[] = [];

      for (let round = 0; round < 3; round++) {
        const [alex, bea] = table.players.map((player) =>
          connect(server.url).useToken(player.client.playerToken!),
        );
        const killed = { now: false };
        const sessions: UniverseSession[] = [];
        const record = (result: Awaited<ReturnType<UniverseSession["act"]>> | undefined) => {
          if (result?.ok) acked.push({ position: result.turn.position, id: result.turn.id });
        };
        // A join can meet a connection the killed server left in the HTTP pool: join again.
        const join = async (client: LoomClient, runId: string): Promise<UniverseSession | null> => {
          while (!killed.now) {
            try {
              const session = await client.joinUniverse(table.universeId, { role: "player", runId });
              sessions.push(session);
              return session;
            } catch (error) {
              errors.push(error instanceof Error ? error.message : String(error));
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          return null;
        };
        // Alex acts as fast as acks return.
        const fast = async (client: LoomClient, player: (typeof table.players)[number]) => {
          const session = await join(client, player.runId);
          while (session && !killed.now)
            record(await within(session.act(overcome(player.characterId)), 3_000));
        };
        // Bea joins, acts once and leaves at once, again and again.
        const brief = async (client: LoomClient, player: (typeof table.players)[number]) => {
          while (!killed.now) {
            const session = await join(client, player.runId);
            if (!session) return;
            record(await within(session.act(overcome(player.characterId, "slips away")), 3_000));
            await within(session.leave(), 3_000);
          }
        };
        const playing = [fast(alex!, table.players[0]!), brief(bea!, table.players[1]!)].map((p) =>
          p.catch((error: unknown) => errors.push(error instanceof Error ? error.message : String(error))),
        );
        const before = acked.length;
        // The kill comes at a random moment once play is under way (joining alone can take a while).
        await waitFor(() => acked.length > before, 30_000, `a first acknowledgement (${errors.join("; ")})`);
        await new Promise((r) => setTimeout(r, random() * 1_000));
        await server.stop("SIGKILL");
        killed.now = true;
        // embedded: the same folder again; distributed: another process takes over, a new one
        // joins. It boots while the acts in flight at the kill get their last chance to answer.
        const booting = spawnServer(env, setup.processes === 1 ? 2621 : 2621 + (port++ % 4));
        booting.catch(() => undefined);
        await within(Promise.all(playing), 5_000);
        for (const session of sessions) void session.leave().catch(() => undefined);

        serving.shift();
        const fresh = await booting;
        children.push(fresh);
        serving.push(fresh);
        server = serving[0]!;
        const gm = connect(server.url).useToken(table.gm.playerToken!);
        const watching = await gm.joinUniverse(table.universeId, { role: "gm" });
        const last = Math.max(...acked.map((turn) => turn.position));
        expect(watching.state.head, `round ${round} (seed ${seed}) head`).toBeGreaterThanOrEqual(last);
        await waitFor(
          async () =>
            (await gm.history(table.universeId, { limit: 1, order: "desc" })).turns[0]!.position >= last,
          10_000,
          "the recovered turns to be persisted",
        );
        const timeline = new Map<number, string>();
        for (let cursor: number | undefined, page; ; cursor = page.nextCursor ?? undefined) {
          page = await gm.history(table.universeId, { limit: 200, order: "asc", cursor });
          for (const turn of page.turns) timeline.set(turn.position, turn.id);
          if (page.nextCursor === null) break;
        }
        const lost = acked.filter((turn) => timeline.get(turn.position) !== turn.id);
        expect(lost, `round ${round} (seed ${seed}): acknowledged turns missing or changed`).toEqual([]);
        await watching.leave();
        for (const player of table.players) {
          const client = connect(server.url).useToken(player.client.playerToken!);
          await recordsSettle(gm, client, table.universeId, [player.runId]);
        }
      }
    }, 120_000);
  });

describe("reads after kill -9 of the embedded server", () => {
  /** An embedded server on `dataDir` that persists rarely: its acknowledged turns wait in the log. */
  const persistingRarely = (dataDir: string) => ({
    DATABASE_URL: "",
    REDIS_URL: "",
    LOOM_DATA_DIR: dataDir,
    LOOM_PERSIST_INTERVAL_MS: "60000",
  });

  /** Acts `count` world events; the position of the last. */
  const events = async (session: UniverseSession, from: number, count: number) => {
    let position = 0;
    for (let i = from; i < from + count; i++) {
      const acted = await session.act({ kind: "world_event", text: `The tide turns ${i}` });
      if (!acted.ok) throw new Error(acted.rejection.message);
      position = acted.turn.position;
    }
    return position;
  };

  it("a run's record counts the acknowledged turns only the write-ahead log held, before anyone opens the universe", async () => {
    // persisting rarely: the acts are acknowledged from the log alone when the server dies
    const env = persistingRarely(tempDir("loom-wal-reads-"));
    let server = await spawnServer(env, 2637);
    try {
      const table = await setTable(server.url, ["Mara"]);
      const mara = table.players[0]!;
      const seat = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      for (let i = 0; i < 3; i++)
        expect((await seat.act(overcome(mara.characterId, `wades on ${i}`))).ok).toBe(true);
      server.process.kill("SIGKILL");
      await server.stop();
      server = await spawnServer(env, 2637);
      const reader = connect(server.url).useToken(mara.client.playerToken!);
      expect(await reader.run(mara.runId)).toMatchObject({ turnCount: 3 });
    } finally {
      await server.stop("SIGKILL");
    }
  }, 120_000);

  it("the command line reads them too, a backup holds them, and a restore puts the log of another database aside", async () => {
    const dataDir = tempDir("loom-wal-cli-");
    const env = persistingRarely(dataDir);
    const cli = (...args: string[]) => loom(args, env);
    let server = await spawnServer(env, 2637);
    try {
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Low Water" });
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const head = await events(table, 0, 4);
      server.process.kill("SIGKILL");
      await server.stop();
      // the server stopped with them in its log alone: an export reads every acknowledged turn
      const exported = await cli("export", universe.id);
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stderr).toContain("acknowledged turn(s) the write-ahead log held");
      const turns = exported.stdout.split("\n").filter((line) => line.includes('"kind":"world_event"'));
      expect(turns).toHaveLength(4);
      expect((await cli("verify", universe.id)).stdout).toContain(`${head} turns`);
      const backup = join(tempDir("loom-wal-backup-"), "backup.tar.gz");
      expect((await cli("backup", backup)).code).toBe(0);

      // more play after the backup, in the log alone at the next kill -9; then the backup restored
      server = await spawnServer(env, 2637);
      const again = connect(server.url).useToken(gm.playerToken!);
      const later = await again.joinUniverse(universe.id, { role: "gm" });
      await events(later, 4, 3);
      server.process.kill("SIGKILL");
      await server.stop();
      const restored = await cli("restore", backup, "--force");
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain(`its write-ahead log in ${dataDir}/wal.replaced-`);
      // the database set aside holds the turns its log alone held: whole, should it be wanted back
      expect(restored.stderr).toContain("wrote 3 acknowledged turn(s) the write-ahead log held");
      const setAside = /the previous database is in (\S+?)[;,\s]/.exec(restored.stdout)![1]!;
      const elsewhere = tempDir("loom-wal-aside-");
      renameSync(setAside, join(elsewhere, "pglite"));
      const listed = await loom(["universes", "--json"], { ...env, LOOM_DATA_DIR: elsewhere });
      expect(
        listed.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as unknown),
      ).toEqual([expect.objectContaining({ id: universe.id, headPosition: 7 })]);
      server = await spawnServer(env, 2637);
      const back = connect(server.url).useToken(gm.playerToken!);
      const reopened = await back.joinUniverse(universe.id, { role: "gm" });
      await waitFor(() => reopened.state.head === head, 5_000, "the backup's head");
      expect((await reopened.act({ kind: "world_event", text: "The tide turns again" })).ok).toBe(true);
      await reopened.leave();
    } finally {
      await server.stop("SIGKILL");
    }
  }, 120_000);
  it("a database put back older than its log is named at start and by the command line, its universe left closed", async () => {
    const dataDir = tempDir("loom-wal-gap-");
    const env = persistingRarely(dataDir);
    let server = await spawnServer(env, 2637);
    try {
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Old Tides" });
      await events(await gm.joinUniverse(universe.id, { role: "gm" }), 0, 2);
      server.process.kill("SIGKILL");
      await server.stop();
      // the operator keeps a copy of the database alone, without its log
      const older = tempDir("loom-wal-gap-db-");
      cpSync(join(dataDir, "pglite"), older, { recursive: true });
      expect((await loom(["verify", universe.id], env)).code).toBe(0);
      server = await spawnServer(env, 2637);
      const again = connect(server.url).useToken(gm.playerToken!);
      await events(await again.joinUniverse(universe.id, { role: "gm" }), 2, 2);
      server.process.kill("SIGKILL");
      await server.stop();
      // and puts it back by hand: the log's turns 3–4 follow turn 2, which that database never had
      rmSync(join(dataDir, "pglite"), { recursive: true });
      cpSync(older, join(dataDir, "pglite"), { recursive: true });
      const said = `the write-ahead log holds turns 3–4 of universe ${universe.id}, which do not follow its database's head 0`;
      expect((await loom(["verify", universe.id], env)).stderr).toContain(said);
      server = await spawnServer(env, 2637);
      const warned = server.logs().find((entry) => entry.level === "warn" && entry.msg.includes(said));
      expect(warned?.msg).toContain(`move ${dataDir}/wal aside`);
      const refused = connect(server.url, { failoverMs: 0 }).useToken(gm.playerToken!);
      await expect(refused.joinUniverse(universe.id, { role: "gm" })).rejects.toMatchObject({
        code: "unavailable",
        message: expect.stringContaining(
          "its live log holds turns from 3, which do not follow its database's head 0",
        ),
      });
    } finally {
      await server.stop("SIGKILL");
    }
  }, 120_000);
});
