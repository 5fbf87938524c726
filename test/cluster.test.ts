import { afterEach, describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect } from "../client-sdk/src/index.ts";
import { spawnServer, spawnServers, tempDir, testPort, waitFor, type ChildServer } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import { recordsSettle } from "./support/records.ts";
import { loom } from "./support/cli.ts";
import {
  ContainerProcess,
  dockerfileEnv,
  durationMs,
  environmentOf,
  execForm,
  healthy,
  readCompose,
  readDockerfile,
  runExec,
} from "./support/deployment.ts";
import { parseExposition, sampleValue } from "./support/prometheus-text.ts";

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const distributed = { DATABASE_URL: databaseUrl ?? "", REDIS_URL: redisUrl ?? "" };

describe.skipIf(!databaseUrl || !redisUrl)("several processes on Postgres + Redis", () => {
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  });

  it("keeps every acknowledged turn when the owning process is killed before persisting", async () => {
    const env = {
      ...distributed,
      LOOM_PERSIST_INTERVAL_MS: "600000",
      LOOM_PERSIST_BATCH: "100000",
      LOOM_LEASE_TTL_MS: "1500",
    };
    const first = await spawnServer(env, 2611);
    children.push(first);
    const table = await setTable(first.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const acked: number[] = [];
    for (let i = 0; i < 30; i++) {
      const result = await session.act(overcome(alex.characterId));
      if (result.ok) acked.push(result.turn.position);
    }
    expect(acked.length).toBe(30);
    // her last act she takes back: the undo, and its mark on the turn, are in Redis alone too
    const taken = await session.act({ kind: "custom", characterId: alex.characterId, text: "hesitates" });
    if (!taken.ok) throw new Error(taken.rejection.message);
    const undo = await session.undo();
    if (!undo.ok) throw new Error(undo.rejection.message);
    // not persisted yet: only in Redis
    const sql = postgres(databaseUrl!, { max: 1, onnotice: () => undefined });
    const [stored] = await sql<Array<{ head: number }>>`
      select head_position as head from universes where id = ${table.universeId}`;
    expect(stored!.head).toBeLessThan(Math.min(...acked));

    await first.stop("SIGKILL");
    // the next owner makes its group commits on a thread of their own (LOOM_APPEND_THREAD)
    const second = await spawnServer(
      { ...distributed, LOOM_LEASE_TTL_MS: "1500", LOOM_APPEND_THREAD: "1" },
      2612,
    );
    children.push(second);
    // Alex, back before anyone has opened the universe again, is told of every acknowledged turn,
    // though they are in Redis alone and the dead process still has the universe's listing
    const alexAgain = connect(second.url).useToken(alex.client.playerToken!);
    const recap = await alexAgain.recap(alex.runId);
    expect(recap.head).toBeGreaterThanOrEqual(Math.max(...acked));
    const gm = connect(second.url).useToken(table.gm.playerToken!);
    const gmSession = await gm.joinUniverse(table.universeId, { role: "gm" });
    // every acknowledged turn, then the end of Alex's session, which the dead process left open
    const last = undo.turn.position + 1;
    expect(gmSession.state.head).toBe(last);
    // reads include acknowledged turns at once; the records follow once the turns are persisted
    await waitFor(() => gmSession.persistedThrough >= last, 10_000, "persisted");
    const after = await gm.history(table.universeId, { limit: 500, order: "asc" });
    const positions = after.turns.map((turn) => turn.position);
    expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => i + 1));
    expect(positions).toEqual(expect.arrayContaining(acked));
    expect(after.turns.at(-1)).toMatchObject({ kind: "session_end", input: { reason: "interrupted" } });
    // the turn she took back reads undone, here and in the database, and is not taken back again
    const position = taken.turn.position;
    expect(after.turns.find((turn) => turn.position === position)).toMatchObject({ status: "undone" });
    const [mark] = await sql<Array<{ status: string; undone_by: number | null }>>`
      select status, undone_by from turns where universe_id = ${table.universeId} and position = ${position}`;
    await sql.end();
    expect(mark).toEqual({ status: "undone", undone_by: undo.turn.position });
    const seated = await alexAgain.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const again = await seated.undo();
    if (again.ok) expect(again.turn.input).not.toMatchObject({ targetPosition: position });
    else expect(again.rejection.code).toMatch(/^(nothing_to_undo|not_allowed)$/);
    await seated.leave();
    // the run's record follows the persisted turns: its second session counts once they are written
    // (the second process writes them on its append thread, beside the whole suite on two cores)
    let recorded: unknown = null;
    await waitFor(
      async () => {
        const run = await alexAgain.run(alex.runId);
        recorded = run;
        return run.sessionCount >= 2;
      },
      60_000,
      "the run's second session recorded",
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; the run reads ${JSON.stringify(recorded)}`);
    });
    expect(await alexAgain.run(alex.runId)).toMatchObject({ turnCount: 30, sessionCount: 2 });
    await recordsSettle(gm, alexAgain, table.universeId, [alex.runId]);
    await gmSession.leave();
  }, 150_000);

  it("the command line says which acknowledged turns Redis holds that the database does not have yet", async () => {
    const env = { ...distributed, LOOM_PERSIST_INTERVAL_MS: "600000", LOOM_PERSIST_BATCH: "100000" };
    const owner = await spawnServer(env, 2611);
    children.push(owner);
    const keeper = connect(owner.url);
    await keeper.registerPlayer("Keeper");
    const universe = await keeper.createUniverse({ name: "Held Breath" });
    const table = await keeper.joinUniverse(universe.id, { role: "gm" });
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const acted = await table.act({ kind: "world_event", text: `The bell tolls ${i}` });
      if (!acted.ok) throw new Error(acted.rejection.message);
      last = acted.turn.position;
    }
    await owner.stop("SIGKILL");
    const said = `loom: warning: Redis holds acknowledged turns 1–${last} of universe ${universe.id}, which the database does not have yet;`;
    const exported = await loom(["export", universe.id, "--no-progress"], distributed);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`${said} the export ends at its head, 0`);
    const verified = await loom(["verify", universe.id, "--no-progress"], distributed);
    expect(verified.stderr).toContain(`${said} the check ends at its head, 0`);
    // without Redis named, nothing can be said of it
    expect(
      (await loom(["export", universe.id, "--no-progress"], { DATABASE_URL: databaseUrl! })).stderr,
    ).toBe("");
  });

  it("a write sent through the other process waits out an owner a few seconds slow, and is made once", async () => {
    const [a, b] = (await spawnServers([
      { env: distributed, port: 2613 },
      { env: distributed, port: 2614 },
    ])) as [ChildServer, ChildServer];
    children.push(a, b);
    const keeper = connect(a.url);
    await keeper.registerPlayer("Keeper");
    const universe = await keeper.createUniverse({ name: "Slow Tides" });
    const table = await keeper.joinUniverse(universe.id, { role: "gm" });
    const acted = await table.act({ kind: "world_event", text: "The tide stalls." });
    if (!acted.ok) throw new Error(acted.rejection.message);
    // the owner stops for longer than a remote room call's two seconds, then goes on
    a.process.kill("SIGSTOP");
    const resumed = new Promise<void>((resolve) =>
      setTimeout(() => {
        a.process.kill("SIGCONT");
        resolve();
      }, 3_000),
    );
    const elsewhere = connect(b.url).useToken(keeper.playerToken!);
    const undo = await elsewhere.undo(universe.id);
    await resumed;
    expect(undo).toMatchObject({ kind: "undo", input: { targetPosition: acted.turn.position } });
    const history = await elsewhere.history(universe.id, { limit: 100, order: "asc" });
    expect(history.turns.filter((turn) => turn.kind === "undo")).toHaveLength(1);
    await table.leave();
  });

  it("seats a player who leaves through one process and comes straight back through the other, every time", async () => {
    const [a, b] = (await spawnServers([
      { env: distributed, port: 2613 },
      { env: distributed, port: 2614 },
    ])) as [ChildServer, ChildServer];
    children.push(a, b);
    const table = await setTable(a.url, ["Rho"]);
    const player = table.players[0]!;
    const here = connect(a.url).useToken(player.client.playerToken!);
    const there = connect(b.url).useToken(player.client.playerToken!);
    // the room on one process closes as its last member leaves; the join through the other finds
    // it still listed and asks it for a seat while it closes, at one moment or another
    const refused: string[] = [];
    for (let i = 0; i < 60; i++) {
      const session = await here.joinUniverse(table.universeId, { role: "player", runId: player.runId });
      const leaving = session.leave();
      await new Promise((resolve) => setTimeout(resolve, (i % 8) * 5));
      try {
        await (await there.joinUniverse(table.universeId, { role: "player", runId: player.runId })).leave();
      } catch (error) {
        refused.push(`${i}: ${String(error)}`);
      }
      await leaving;
    }
    expect(refused).toEqual([]);
  }, 120_000);

  it("puts 8 concurrent joins through two processes into exactly one room", async () => {
    const [a, b] = (await spawnServers([
      { env: distributed, port: 2613 },
      { env: distributed, port: 2614 },
    ])) as [ChildServer, ChildServer];
    children.push(a, b);
    const table = await setTable(
      a.url,
      Array.from({ length: 8 }, (_, i) => `Traveller${i}`),
    );
    const sessions = await Promise.all(
      table.players.map((player, i) => {
        const client = connect(i % 2 === 0 ? a.url : b.url).useToken(player.client.playerToken!);
        return client.joinUniverse(table.universeId, { role: "player", runId: player.runId });
      }),
    );
    const first = table.players[0]!;
    const result = await sessions[0]!.act(overcome(first.characterId));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    await waitFor(
      () => sessions.every((s) => s.turns.some((t) => t.position === result.turn.position)),
      10_000,
      "broadcast to all 8",
    );
    // every member's synced state shows all 8 characters: they share one room's state
    await waitFor(
      () => sessions.every((s) => s.state.characters.size === 8),
      5_000,
      "all characters in every member's state",
    );
    await Promise.all(sessions.map((s) => s.leave()));
  });

  it("shows a game master scrubbing on one process what is played, retold and undone on another", async () => {
    const [here, there] = (await spawnServers([
      { env: distributed, port: 2615 },
      // the turns played there stay in Redis alone for seconds: the scrub here learns them from the stream
      {
        env: { ...distributed, LOOM_PERSIST_INTERVAL_MS: "3000" },
        port: 2616,
      },
    ])) as [ChildServer, ChildServer];
    children.push(here, there);
    // the table plays on one process; its game master scrubs on the other
    const table = await setTable(there.url, ["Mara"]);
    const mara = table.players[0]!;
    const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
    const scrubber = connect(here.url).useToken(table.gm.playerToken!);
    const id = table.universeId;
    const played = async () => {
      const result = await session.act(overcome(mara.characterId));
      if (!result.ok) throw new Error(`act refused: ${result.rejection.code}`);
      return result.turn;
    };
    let last = await played();
    await played();
    last = await played();
    // scrubbed until a scrub is answered from what an earlier one kept (the copies start at the first)
    const fromCopies = async () =>
      sampleValue(
        parseExposition(await (await fetch(`${here.url}/metrics`)).text()),
        "loom_scrub_stream_reads_total",
        { from: "copy" },
      ) ?? 0;
    await expect
      .poll(
        async () => {
          const scrubbed = await scrubber.scrub(id, last.position);
          expect(scrubbed.head).toBe(last.position);
          expect(scrubbed.turn?.id).toBe(last.id);
          return fromCopies();
        },
        { timeout: 5_000, interval: 20 },
      )
      .toBeGreaterThan(0);
    const copiesBefore = await fromCopies();

    // when Mara acts again there, the scrub here shows the turn (its ack left after Redis had it)
    const next = await played();
    await expect
      .poll(async () => (await scrubber.scrub(id, next.position)).turn?.id, { timeout: 2_000, interval: 5 })
      .toBe(next.id);
    expect((await scrubber.scrub(id, last.position)).head).toBe(next.position);
    expect(await fromCopies()).toBeGreaterThan(copiesBefore);

    // when the game master retells it there, the scrub here shows the retelling once it is recorded
    const telling = await table.gm.retell(id, next.position);
    await expect
      .poll(async () => (await scrubber.scrub(id, next.position)).turn?.narration?.retellings?.at(-1)?.text, {
        timeout: 10_000,
        interval: 20,
      })
      .toBe(telling.text);

    // when the game master undoes it there, the scrub here shows the undo and the undone turn
    const undo = await table.gm.undo(id);
    await expect
      .poll(async () => (await scrubber.scrub(id, next.position)).turn?.status, {
        timeout: 10_000,
        interval: 20,
      })
      .toBe("undone");
    const atUndo = await scrubber.scrub(id, undo.position);
    expect(atUndo.head).toBe(undo.position);
    expect(atUndo.turn?.id).toBe(undo.id);
    await session.leave();
  });

  it("runs docker-compose.yml's two Loom services from the Dockerfile's CMD: a client plays through one, the other serves the universe once it stops", async () => {
    const compose = readCompose();
    const instructions = readDockerfile();
    const command = execForm(instructions.find((i) => i.keyword === "CMD")!);
    const services = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
    // the compose volume shared by the processes, here a folder
    const dataDir = tempDir("loom-compose-");
    const started = services.map(([name, service], i) => {
      const env = { ...dockerfileEnv(instructions), ...environmentOf(service, {}) };
      const port = testPort(2670 + i);
      // the service names `postgres` and `redis` stand for this machine's
      const local = {
        ...env,
        DATABASE_URL: databaseUrl!,
        REDIS_URL: redisUrl!,
        PORT: String(port),
        LOOM_PUBLIC_ADDRESS: `127.0.0.1:${port}`,
        LOOM_DATA_DIR: dataDir,
        LOOM_LEASE_TTL_MS: "1500",
      };
      const rewrite = (part: string) => part.replaceAll(`:${env.PORT}/`, `:${port}/`);
      return { name, service, port, rewrite, process: new ContainerProcess(runExec(command, local)) };
    });
    try {
      // up once their own health checks pass
      for (const loom of started)
        await waitFor(
          () => healthy(loom.service.healthcheck!.test, loom.rewrite),
          60_000,
          `${loom.name} healthy`,
        );
      const [one, two] = started as [(typeof started)[0], (typeof started)[0]];
      const urlOf = (loom: typeof one) => `http://127.0.0.1:${loom.port}`;

      const table = await setTable(urlOf(one), ["Sol"]);
      const sol = table.players[0]!;
      const session = await sol.client.joinUniverse(table.universeId, { role: "player", runId: sol.runId });
      const acked: number[] = [];
      for (let i = 0; i < 5; i++) {
        const result = await session.act(overcome(sol.characterId));
        if (result.ok) acked.push(result.turn.position);
      }
      expect(acked).toHaveLength(5);
      // a token from one process is good at the other: they share the secret
      const gm = connect(urlOf(two)).useToken(table.gm.playerToken!);
      expect((await gm.history(table.universeId, { limit: 50 })).turns.map((t) => t.position)).toEqual(
        expect.arrayContaining(acked),
      );

      // docker stop: SIGTERM, SIGKILL after the grace period
      expect(await one.process.stop(durationMs(one.service.stop_grace_period!))).toBe(0);
      expect(healthy(one.service.healthcheck!.test, one.rewrite)).toBe(false);
      expect(one.process.logs().at(-1)?.msg).toBe("shutdown complete");

      // the other process serves the universe: the player rejoins through it and plays on
      const again = connect(urlOf(two)).useToken(sol.client.playerToken!);
      const rejoined = await again.joinUniverse(table.universeId, { role: "player", runId: sol.runId });
      const next = await rejoined.act(overcome(sol.characterId));
      expect(next.ok).toBe(true);
      const history = await gm.history(table.universeId, { limit: 100, order: "asc" });
      const positions = history.turns.map((turn) => turn.position);
      expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => i + 1));
      expect(positions).toEqual(expect.arrayContaining([...acked, next.ok ? next.turn.position : -1]));
      const metrics = parseExposition(await (await fetch(`${urlOf(two)}/metrics`)).text());
      expect(sampleValue(metrics, "loom_universes_open")).toBeGreaterThanOrEqual(1);
      expect(sampleValue(metrics, "loom_turns_total", { kind: "action" })).toBeGreaterThanOrEqual(1);
      expect(two.process.logs().some((entry) => entry.universeId === table.universeId)).toBe(true);
      await rejoined.leave();
    } finally {
      await Promise.all(started.map((loom) => loom.process.stop(5_000)));
    }
  }, 120_000);
});
