import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PGlite } from "@electric-sql/pglite";
import { connect } from "../client-sdk/src/index.ts";
import { createStores } from "../server/src/persist/index.ts";
import { rowsOf } from "../server/src/persist/rows.ts";
import { overcome, sheet } from "./support/players.ts";
import { loom, spawnLoom } from "./support/cli.ts";
import { parseExposition, sampleValue } from "./support/prometheus-text.ts";
import { matchMaker } from "@colyseus/core";
import { modes, OPERATOR, startServer, tempDir, testPort, waitFor, type Mode } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";

const GM_NOTE = "the-lighthouse-keeper-lies";
const HIDDEN_ROLL = "moonless";
const MARA_SAVE = "Before the dunes";
const TAM_SAVE = "Tam's hidden cove";
const root = resolve(import.meta.dirname, "..");
const embedded: Mode = { name: "embedded", databaseUrl: null, redisUrl: null, available: true };

interface Played {
  universeId: string;
  branchId: string;
  gmToken: string;
  playerToken: string;
  playerId: string;
  otherPlayerId: string;
  /** The save points named through the server, by name. */
  saves: Record<string, number>;
  head: number;
  headChecksum: string;
}

/**
 * A small campaign through the real server: two play sessions of rolls, a GM's secret notes and
 * a hidden roll, an undo, a retcon, a second player joining for a turn, a save point of each
 * player, a manual snapshot, a branch, and the dice revealed at the end.
 */
async function playCampaign(server: LoomServer & { url: string }): Promise<Played> {
  const gm = connect(server.url);
  await gm.registerPlayer("Game Master");
  const universe = await gm.createUniverse({
    name: "Salt and Ash",
    premise: "A drowned coast",
    visibility: "public",
  });
  const player = connect(server.url);
  const { player: me } = await player.registerPlayer("Mara");
  const { character, run } = await player.createCharacter(universe.id, sheet("Mara"));
  const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
  const other = connect(server.url);
  const { player: tam } = await other.registerPlayer("Tam");
  const saves: Record<string, number> = {};
  for (const round of [0, 1]) {
    const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
    for (let i = 0; i < 12; i++) {
      const result = await session.act(overcome(character.id, `wades the flats, round ${round} step ${i}`));
      expect(result.ok).toBe(true);
    }
    if (round === 0) {
      // the player's latest roll, undone by the game master (a player's roll stands)
      expect((await gmSession.undo()).ok).toBe(true);
      const secret = await gmSession.act({
        kind: "world_event",
        text: "A stranger watches from the dunes",
        deltas: [{ op: "set", path: `/characters/${character.id}/gmNotes`, value: `marked: ${GM_NOTE}` }],
      });
      expect(secret.ok).toBe(true);
      const hidden = await gmSession.act({
        kind: "action",
        action: "overcome",
        characterId: character.id,
        skill: "Notice",
        opposition: 1,
        description: `searches the ${HIDDEN_ROLL} tide line`,
        hidden: true,
      });
      expect(hidden.ok).toBe(true);
      expect((await gmSession.retcon("The flats were always salt, never sand", [])).ok).toBe(true);
      // a second player comes to the table for one roll and names a save point there
      const tamCharacter = await other.createCharacter(universe.id, sheet("Tam"));
      const tamSession = await other.joinUniverse(universe.id, {
        role: "player",
        runId: tamCharacter.run.id,
      });
      const rolled = await tamSession.act(overcome(tamCharacter.character.id, "slips into the cove"));
      expect(rolled.ok).toBe(true);
      const at = rolled.ok ? rolled.turn.position : 0;
      expect((await other.nameSavePoint(universe.id, at, TAM_SAVE)).position).toBe(at);
      saves[TAM_SAVE] = at;
      await tamSession.leave();
    } else {
      const last = await session.act(overcome(character.id, "looks back at the dunes"));
      expect(last.ok).toBe(true);
      const at = last.ok ? last.turn.position : 0;
      await player.nameSavePoint(universe.id, at, MARA_SAVE);
      saves[MARA_SAVE] = at;
    }
    await session.leave();
  }
  await gm.snapshot(universe.id);
  const head = (await gm.stateAt(universe.id)).position;
  const branch = await gm.branch(universe.id, head - 3, "Had she turned back");
  const branchRun = await player.startRun(branch.id, character.id);
  const onBranch = await player.joinUniverse(branch.id, { role: "player", runId: branchRun.id });
  for (let i = 0; i < 4; i++)
    expect((await onBranch.act(overcome(character.id, `turns back ${i}`))).ok).toBe(true);
  await onBranch.leave();
  await gmSession.leave();
  await gm.revealDice(universe.id);
  await gm.revealDice(branch.id);
  const at = await gm.stateAt(universe.id);
  return {
    universeId: universe.id,
    branchId: branch.id,
    gmToken: gm.playerToken!,
    playerToken: player.playerToken!,
    playerId: me.id,
    otherPlayerId: tam.id,
    saves,
    head: at.position,
    headChecksum: at.checksum,
  };
}

describe("loom command line (embedded)", () => {
  let server: (LoomServer & { url: string }) | null = null;
  let dataDir: string;
  let work: string;
  let played: Played;
  const dir = () => ["--data-dir", dataDir];
  /**
   * The refusals run the embedded database on the command's own thread (LOOM_PGLITE_WORKER=0):
   * what a file is refused for does not depend on the thread, and a worker's start is most of an
   * embedded command's time. Every other command here runs with the default, a worker.
   */
  const onThisThread: NodeJS.ProcessEnv = { LOOM_PGLITE_WORKER: "0" };

  beforeAll(async () => {
    dataDir = tempDir("loom-cli-data-");
    work = tempDir("loom-cli-files-");
    server = await startServer(embedded, { port: 2650, dataDir, inMemory: false });
    played = await playCampaign(server);
  }, 120_000);

  afterAll(async () => {
    await server?.shutdown();
  });

  it("while the server holds the embedded database, a command says so and points to --server", async () => {
    const run = await loom([...dir(), "export", played.universeId]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/locked by a running Loom process \(pid \d+, port \d+/);
    expect(run.stderr).toContain(`--server http://127.0.0.1:`);
    // an import cannot go through the server: it is told to stop it, not to export
    const file = join(work, "to-import.jsonl");
    const exported = await fetch(`${server!.url}/api/universes/${played.universeId}/export`, {
      headers: { authorization: `Bearer ${played.gmToken}` },
    });
    writeFileSync(file, await exported.text());
    const imported = await loom([...dir(), "import", file]);
    expect(imported.code).toBe(3);
    expect(imported.stderr).toContain("Stop it first.");
    expect(imported.stderr).not.toContain("loom export");
  });

  it("refuses --data-dir while DATABASE_URL is set rather than use that database instead", async () => {
    const run = await loom([...dir(), "universes"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--data-dir names an embedded database, but DATABASE_URL is set");
  });

  it("HTTP export streams JSONL for the game master and redacts it for a player", async () => {
    const url = `${server!.url}/api/universes/${played.universeId}/export`;
    const full = await fetch(url, { headers: { authorization: `Bearer ${played.gmToken}` } });
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toContain("application/x-ndjson");
    expect(full.headers.get("transfer-encoding")).toBe("chunked");
    const lines = (await full.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: "header", version: 2, redacted: false, head: played.head });
    expect((lines[0]!.dice as Array<{ secret: string | null }>)[0]!.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(lines.filter((l) => l.type === "turn")).toHaveLength(played.head);
    expect(lines.at(-1)).toMatchObject({ type: "end", turns: played.head, savePoints: 2 });
    expect(JSON.stringify(lines)).toContain(GM_NOTE);
    // the game master's file has every player's save points, after the turns, by position
    expect(lines.filter((l) => l.type === "save_point")).toEqual(
      [
        { playerId: played.otherPlayerId, name: TAM_SAVE },
        { playerId: played.playerId, name: MARA_SAVE },
      ].map((save) => ({
        type: "save_point",
        position: played.saves[save.name],
        ...save,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      })),
    );
    expect(lines.findIndex((l) => l.type === "save_point")).toBeGreaterThan(
      lines.findLastIndex((l) => l.type === "turn" || l.type === "snapshot"),
    );

    const mine = await fetch(url, { headers: { authorization: `Bearer ${played.playerToken}` } });
    const text = await mine.text();
    expect(mine.status).toBe(200);
    expect(JSON.parse(text.split("\n")[0]!)).toMatchObject({
      audience: `player:${played.playerId}`,
      redacted: true,
    });
    expect(text).not.toContain(GM_NOTE);
    expect(text).not.toContain(HIDDEN_ROLL);
    expect(text).not.toContain('"type":"snapshot"');
    // save points are a player's own (the bookmarks list shows each player theirs): Mara's only
    const saves = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; name?: string })
      .filter((l) => l.type === "save_point");
    expect(saves.map((l) => l.name)).toEqual([MARA_SAVE]);
    expect(text).not.toContain(TAM_SAVE);
    expect(text).toContain('"savePoints":1}');

    const story = await fetch(`${url}?format=markdown`, {
      headers: { authorization: `Bearer ${played.playerToken}` },
    });
    expect(story.headers.get("content-type")).toContain("text/markdown");
    const markdown = await story.text();
    expect(markdown).toContain("# Salt and Ash");
    expect(markdown).not.toContain(GM_NOTE);
    expect(markdown).not.toContain(HIDDEN_ROLL);
    expect(markdown).toContain(
      `*Save point “${MARA_SAVE}”, named by Mara at turn ${played.saves[MARA_SAVE]}.*`,
    );
    expect(markdown).not.toContain("hidden cove");

    const refused = await fetch(`${url}?as=gm`, {
      headers: { authorization: `Bearer ${played.playerToken}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("not_allowed");
    const bad = await fetch(`${url}?format=pdf`, { headers: { authorization: `Bearer ${played.gmToken}` } });
    expect(bad.status).toBe(400);
    // a game master's view for a player who does not exist is no one's: refused, not an empty story
    const nobody = await fetch(`${url}?as=player:no-such-player`, {
      headers: { authorization: `Bearer ${played.gmToken}` },
    });
    expect(nobody.status).toBe(404);
    expect(((await nobody.json()) as { error: { code: string } }).error.code).toBe("not_found");

    // and the CLI asks the running server for it
    const out = join(work, "over-http.jsonl");
    const run = await loom(["export", played.universeId, "--server", server!.url, "--out", out], {
      LOOM_TOKEN: played.gmToken,
    });
    expect(run.code).toBe(0);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(lines.length);

    // an answer cut short, whether the connection's close frames it or it breaks off, is no file
    const half = readFileSync(out, "utf8").slice(0, 2_000);
    for (const framing of ["close", "chunked"] as const) {
      const stub = createServer((socket) =>
        socket.once("data", () => {
          socket.write(
            `HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n${framing === "close" ? "connection: close" : "transfer-encoding: chunked"}\r\n\r\n`,
          );
          if (framing === "close") socket.end(half);
          else socket.end(`${Buffer.byteLength(half).toString(16)}\r\n${half}\r\n`, () => socket.destroy());
        }),
      );
      await new Promise<void>((resolve) => stub.listen(testPort(2603), "127.0.0.1", resolve));
      try {
        const cutOut = join(work, `cut-by-${framing}.jsonl`);
        const cut = await loom(
          ["export", played.universeId, "--server", `http://127.0.0.1:${testPort(2603)}`, "--out", cutOut],
          { LOOM_TOKEN: played.gmToken },
        );
        expect(cut.stderr).toMatch(/^loom: the server cut the export short \(.+\); nothing was written\n$/);
        expect(cut.code).toBe(1);
        expect(existsSync(cutOut)).toBe(false);
        expect(existsSync(`${cutOut}.partial`)).toBe(false);
      } finally {
        await new Promise((resolve) => stub.close(resolve));
      }
    }
  });

  describe("with the server stopped", () => {
    let exported: string;
    beforeAll(async () => {
      await server!.shutdown();
      server = null;
      exported = join(work, "campaign.jsonl");
      const run = await loom([...dir(), "export", played.universeId, "--out", exported]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    }, 180_000);

    it("every command has --help", async () => {
      for (const command of [
        "export",
        "import",
        "verify",
        "jump",
        "replay",
        "universes",
        "backup",
        "restore",
      ]) {
        const run = await loom([command, "--help"]);
        expect(run.code, command).toBe(0);
        expect(run.stdout, command).toContain(`Usage: loom ${command}`);
      }
      const wrong = await loom(["export"]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain("missing required argument");
    });

    it("export → import round trip: same turn count and the same state checksum at the head, replayed with its dice", async () => {
      const verified = await loom(["verify", exported]);
      expect(verified.stdout).toContain("intact");
      expect(verified.code).toBe(0);
      const imported = await loom([
        ...dir(),
        "import",
        exported,
        "--name",
        "Salt and Ash, again",
        "--replay",
      ]);
      expect(imported.stderr).toBe("");
      expect(imported.code).toBe(0);
      expect(imported.stdout).toContain(`${played.head} turns`);
      expect(imported.stdout).toContain(played.headChecksum);
      expect(imported.stdout).toContain("re-executed and equal");
      expect(imported.stdout).toContain("; 2 save points\n");
      const id = /imported (\S+) /.exec(imported.stdout)![1]!;
      // the copy's save points are the original's: players, names, positions and times
      const savesOf = async (universe: string) => {
        const run = await loom([...dir(), "export", universe]);
        return run.stdout
          .trim()
          .split("\n")
          .filter((l) => l.startsWith('{"type":"save_point"'));
      };
      const original = await savesOf(played.universeId);
      expect(original).toHaveLength(2);
      expect(await savesOf(id)).toEqual(original);

      const jump = await loom([...dir(), "jump", id, String(played.head), "--json"]);
      expect(JSON.parse(jump.stdout)).toMatchObject({ position: played.head, checksum: played.headChecksum });
      const list = await loom([...dir(), "universes", "--json"]);
      const records = list.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { id: string; headPosition: number });
      expect(records.find((u) => u.id === id)?.headPosition).toBe(played.head);
      expect((await loom([...dir(), "verify", id])).code).toBe(0);

      // a branch exported with its ancestry imports as a whole timeline of its own
      const branchFile = join(work, "branch.jsonl");
      expect((await loom([...dir(), "export", played.branchId, "--out", branchFile])).code).toBe(0);
      const branchJump = await loom([...dir(), "jump", played.branchId, "999999"]);
      expect(branchJump.code).toBe(2);
      const branchImport = await loom([...dir(), "import", branchFile, "--replay"]);
      expect(branchImport.stderr).toBe("");
      expect(branchImport.code).toBe(0);
    }, 180_000);

    it("a branch exported by reference imports onto its parent here; elsewhere it is refused naming the parent", async () => {
      const file = join(work, "branch-reference.jsonl");
      const exported = await loom([
        ...dir(),
        "export",
        played.branchId,
        "--ancestry",
        "reference",
        "--out",
        file,
      ]);
      expect(exported.code).toBe(0);
      const lines = readFileSync(file, "utf8").trimEnd().split("\n");
      const header = JSON.parse(lines[0]!) as {
        from: number;
        base: { position: number; checksum: string };
        universe: { parentId: string };
      };
      expect(header.universe.parentId).toBe(played.universeId);
      expect(header.from).toBe(played.head - 3);
      const parentAt = await loom([...dir(), "jump", played.universeId, String(header.from), "--json"]);
      expect(header.base).toEqual({
        position: header.from,
        checksum: (JSON.parse(parentAt.stdout) as { checksum: string }).checksum,
      });

      const imported = await loom([...dir(), "import", file, "--name", "Turned back, again", "--replay"]);
      expect(imported.stderr).toBe("");
      expect(imported.code).toBe(0);
      const id = /imported (\S+) /.exec(imported.stdout)![1]!;
      const list = (await loom([...dir(), "universes", "--json"])).stdout
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              id: string;
              parentId: string | null;
              branchPosition: number | null;
              headPosition: number;
            },
        );
      const original = list.find((u) => u.id === played.branchId)!;
      expect(list.find((u) => u.id === id)).toMatchObject({
        parentId: played.universeId,
        branchPosition: header.from,
        headPosition: original.headPosition,
      });
      const at = (universe: string) =>
        loom([...dir(), "jump", universe, String(original.headPosition), "--json"]);
      expect((JSON.parse((await at(id)).stdout) as { checksum: string }).checksum).toBe(
        (JSON.parse((await at(played.branchId)).stdout) as { checksum: string }).checksum,
      );
      expect((await loom([...dir(), "verify", id])).code).toBe(0);

      // a database without the parent: refused, naming it, and nothing written
      const empty = tempDir("loom-cli-empty-");
      const missing = await loom(["--data-dir", empty, "import", file]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("line 1: missing_parent");
      expect(missing.stderr).toContain(`no universe ${played.universeId}`);
      expect((await loom(["--data-dir", empty, "universes", "--json"])).stdout.trim()).toBe("");

      // a parent whose past is not the exported one
      const other = { ...header, base: { ...header.base, checksum: "0".repeat(64) } };
      const mismatched = join(work, "branch-mismatch.jsonl");
      writeFileSync(mismatched, `${[JSON.stringify(other), ...lines.slice(1)].join("\n")}\n`);
      const before = (await loom([...dir(), "universes", "--json"], onThisThread)).stdout;
      const refused = await loom([...dir(), "import", mismatched], onThisThread);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `line 1: parent_mismatch: universe ${played.universeId} here has state`,
      );
      expect((await loom([...dir(), "universes", "--json"], onThisThread)).stdout).toBe(before);
    }, 180_000);

    it("import refuses a tampered, reordered or truncated file, naming the first bad line, and writes nothing", async () => {
      const lines = readFileSync(exported, "utf8").trimEnd().split("\n");
      const before = (await loom([...dir(), "universes", "--json"], onThisThread)).stdout;
      const refused = async (name: string, content: string[]) => {
        const file = join(work, `${name}.jsonl`);
        writeFileSync(file, `${content.join("\n")}\n`);
        const run = await loom([...dir(), "import", file], onThisThread);
        expect(run.code, name).toBe(1);
        return run.stderr;
      };
      const turnAt = lines.findIndex((l) => l.includes('"type":"turn"') && l.includes('"position":5,'));
      const snapshotAt = lines.findIndex((l, i) => i > 2 && l.startsWith('{"type":"snapshot"'));
      expect(turnAt).toBeGreaterThan(0);
      expect(snapshotAt).toBeGreaterThan(0);

      const reordered = [...lines];
      [reordered[turnAt], reordered[turnAt + 1]] = [reordered[turnAt + 1]!, reordered[turnAt]!];
      expect(await refused("reordered", reordered)).toContain(
        `line ${turnAt + 1}: turn at position 6 where 5 was due`,
      );

      expect(await refused("truncated", lines.slice(0, -3))).toMatch(/ends without its end line/);

      // a NUL or a lone surrogate, which the rules never let into a turn: Postgres would keep it
      // in the turn's JSON and fail every query that reads inside it
      const withText = (text: string) => {
        const turn = JSON.parse(lines[turnAt]!) as { events: Array<{ description: string }> };
        turn.events[0]!.description = text;
        return lines.map((l, i) => (i === turnAt ? JSON.stringify(turn) : l));
      };
      expect(await refused("nul", withText("a\u0000b"))).toContain(
        `line ${turnAt + 1}: turn at position 5: /events/0/description holds a NUL or an unpaired surrogate`,
      );
      expect(await refused("surrogate", withText("a\ud800b"))).toContain(
        `line ${turnAt + 1}: turn at position 5: /events/0/description holds a NUL`,
      );

      const damaged = [...lines];
      damaged[snapshotAt] = damaged[snapshotAt]!.replace('"summary":"', '"summary":"X');
      expect(await refused("snapshot", damaged)).toContain(`line ${snapshotAt + 1}: snapshot at position`);

      // a changed delta: the next snapshot no longer agrees with what the turns replay to
      const tampered = [...lines];
      const firstTurn = lines.findIndex(
        (l) => l.startsWith('{"type":"turn"') && /"path":\s*"\/canon\/factBuckets\//.test(l),
      );
      const turn = JSON.parse(lines[firstTurn]!) as {
        deltas: Array<{ op: string; path: string; value?: unknown }>;
      };
      const delta = turn.deltas.find((d) => d.op === "set" && d.path.startsWith("/canon/factBuckets/"))!;
      delta.value = { tampered: true };
      tampered[firstTurn] = JSON.stringify(turn);
      const message = await refused("delta", tampered);
      expect(message).toMatch(
        /line \d+: snapshot at position \d+ differs from the state its turns replay to/,
      );
      expect(message).toContain(`differs at ${delta.path}/`);

      // save points: each at a position the timeline has, well-formed, one name per player, after the turns
      const saveAt = lines.findIndex((l) => l.startsWith('{"type":"save_point"'));
      const save = JSON.parse(lines[saveAt]!) as { position: number; name: string; playerId: string };
      const withSave = (line: Record<string, unknown>) =>
        lines.map((l, i) => (i === saveAt ? JSON.stringify(line) : l));
      expect(await refused("save-beyond", withSave({ ...save, position: played.head + 1 }))).toContain(
        `line ${saveAt + 1}: save point "${save.name}" at position ${played.head + 1} is beyond the timeline, which ends at ${played.head}`,
      );
      expect(await refused("save-malformed", withSave({ ...save, position: "last" }))).toContain(
        `line ${saveAt + 1}: is not a turn, snapshot, save point or end line: position`,
      );
      expect(await refused("save-name", withSave({ ...save, name: "two\nlines" }))).toContain(
        `line ${saveAt + 1}: is not a turn, snapshot, save point or end line: name`,
      );
      const twice = [...lines.slice(0, saveAt + 1), lines[saveAt]!, ...lines.slice(saveAt + 1)];
      expect(await refused("save-twice", twice)).toContain(
        `line ${saveAt + 2}: player ${save.playerId} has a second save point named "${save.name}"`,
      );
      const early = [...lines];
      early.splice(saveAt, 1);
      early.splice(2, 0, lines[saveAt]!);
      expect(await refused("save-early", early)).toContain(
        `line 3: save point "${save.name}" at position ${save.position} is beyond the timeline, which ends at 0`,
      );
      // a version 1 file has no save point lines
      const header = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(
        await refused("save-v1", [JSON.stringify({ ...header, version: 1 }), ...lines.slice(1)]),
      ).toContain(`line ${saveAt + 1}: a save point line in a version 1 file (they came with version 2)`);
      const recounted = [...lines];
      recounted[recounted.length - 1] = recounted.at(-1)!.replace('"savePoints":2', '"savePoints":3');
      expect(await refused("save-count", recounted)).toContain("and 3 save points, the file has");

      expect((await loom([...dir(), "universes", "--json"], onThisThread)).stdout).toBe(before);
    }, 180_000);

    it("verify finds a snapshot corrupted in the database, prints where it differs, and --repair rebuilds it", async () => {
      const file = join(work, "to-corrupt.jsonl");
      expect((await loom([...dir(), "export", played.universeId, "--out", file])).code).toBe(0);
      const snapshots = readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.startsWith('{"type":"snapshot"'))
        .map((l) => JSON.parse(l) as { position: number });
      const position = snapshots.find((s) => s.position > 0)!.position;
      // corrupt the stored document (a one-field change) behind the store's back
      const stores = await createStores({ dataDir: `${dataDir}/pglite` });
      const db = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
      const { sql } = await import("drizzle-orm");
      await db.execute(
        sql`update snapshots set state = jsonb_set(loom_snapshot_document(universe_id, state, skeleton, parts)::jsonb, '{scene,summary}', '"a lie"')::json, skeleton = null, parts = null where universe_id = ${played.universeId} and position = ${position}`,
      );
      await stores.turnStore.close();

      // an export leaves the damaged snapshot out, says so, and is a whole file
      const exported = join(work, "damaged-left-out.jsonl");
      const exporting = await loom([...dir(), "export", played.universeId, "--out", exported]);
      expect(exporting.code, exporting.stderr).toBe(0);
      expect(exporting.stderr).toBe(
        `loom: warning: the snapshot of ${played.universeId} at position ${position} does not match its checksum and was left out ` +
          `(the turns rebuild the state; the export is whole); loom verify ${played.universeId} --repair rebuilds them in the database\n`,
      );
      const written = readFileSync(exported, "utf8").split("\n").filter(Boolean);
      expect(written.filter((l) => l.startsWith(`{"type":"snapshot","position":${position},`))).toEqual([]);
      expect(JSON.parse(written.at(-1)!)).toMatchObject({ type: "end", snapshots: snapshots.length - 1 });
      // to stdout, as a pipe takes it: the export alone, the log's line of the damage on stderr
      const piped = spawnLoom([...dir(), "export", played.universeId]);
      expect(await piped.exited, piped.stderr()).toBe(0);
      const pipedLines = piped.stdout().split("\n").filter(Boolean);
      expect(JSON.parse(pipedLines[0]!)).toMatchObject({ type: "header" });
      expect(pipedLines.filter((line) => line.includes('"level"'))).toEqual([]);
      expect(pipedLines).toHaveLength(written.length);
      expect(piped.stderr()).toContain("does not match its checksum");
      const checked = await loom(["verify", exported]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);

      const found = await loom([...dir(), "verify", played.universeId]);
      expect(found.code).toBe(1);
      expect(found.stdout).toContain(`MISMATCH snapshot at position ${position}`);
      expect(found.stdout).toContain("differing paths: /scene/summary");
      expect(found.stderr).toContain("--repair");

      const repaired = await loom([...dir(), "verify", played.universeId, "--repair"]);
      expect(repaired.stdout).toContain("repairing");
      expect(repaired.code).toBe(0);
      const again = await loom([...dir(), "verify", played.universeId]);
      expect(again.stdout).toContain("intact");
      expect(again.code).toBe(0);
    }, 180_000);

    it("verify finds turns missing from the middle or the end of a timeline, a branch's inherited ones too", async () => {
      const { sql } = await import("drizzle-orm");
      /** Moves a turn's row out of the timeline's reach (a negative position) and back. */
      const shift = async (position: number, to: number) => {
        const stores = await createStores({ dataDir: `${dataDir}/pglite` });
        const db = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
        await db.execute(
          sql`update turns set position = ${to} where universe_id = ${played.universeId} and position = ${position}`,
        );
        await stores.turnStore.close();
      };
      const middle = 5;
      await shift(middle, -middle);
      try {
        for (const id of [played.universeId, played.branchId]) {
          const found = await loom([...dir(), "verify", id]);
          expect(found.code, found.stdout + found.stderr).toBe(1);
          expect(found.stdout).toContain(
            `MISSING turn at position ${middle}: the timeline goes from ${middle - 1} to ${middle + 1}; `,
          );
          expect(found.stdout).not.toContain("intact");
          expect(found.stderr).toBe(
            `loom: ${id}: damaged (turns missing, above); restore a backup of the database\n`,
          );
        }
        // --repair rebuilds snapshots, not turns
        expect((await loom([...dir(), "verify", played.universeId, "--repair"])).code).toBe(1);
      } finally {
        await shift(-middle, middle);
      }
      await shift(played.head, -played.head);
      try {
        const found = await loom([...dir(), "verify", played.universeId]);
        expect(found.code, found.stdout + found.stderr).toBe(1);
        expect(found.stdout).toContain(
          `MISSING turn at position ${played.head}: the timeline ends at ${played.head - 1}, its head is ${played.head}; ` +
            `the snapshot at ${played.head} not checked\n`,
        );
      } finally {
        await shift(-played.head, played.head);
      }
      const again = await loom([...dir(), "verify", played.universeId]);
      expect(again.stdout).toContain(`intact, ${played.head} turns replayed`);
      expect(again.code).toBe(0);
    }, 180_000);

    it("a table file of the embedded database damaged on disk: the database's words, exit code 1, what to do", async () => {
      const copy = tempDir("loom-cli-damaged-");
      cpSync(dataDir, copy, { recursive: true });
      const stores = await createStores({ dataDir: `${copy}/pglite` });
      const db = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
      const { sql } = await import("drizzle-orm");
      const [{ path }] = rowsOf<{ path: string }>(
        await db.execute(sql`select pg_relation_filepath('turns') as path`),
      ) as [{ path: string }];
      await stores.turnStore.close();
      // every page's header made impossible (pd_lower, pd_upper, pd_special past the page's end)
      const file = join(copy, "pglite", path);
      const bytes = readFileSync(file);
      for (let page = 0; page < bytes.length; page += 8192) bytes.fill(0xff, page + 12, page + 18);
      writeFileSync(file, bytes);
      for (const env of [{}, onThisThread]) {
        const run = await loom(["--data-dir", copy, "verify", played.universeId], env);
        expect(run.stderr).toMatch(
          /^loom: a database query failed: invalid page in block \d+ of relation "base\/\d+\/\d+" \[XX001\]; the database is damaged: restore a backup/,
        );
        expect(run.code).toBe(1);
      }
    }, 180_000);

    it("the Markdown story: chapters, rolls as footnotes, the retcon marked, a cast; a player's omits what is the GM's", async () => {
      const gmStory = await loom([...dir(), "export", played.universeId, "--format", "markdown"]);
      expect(gmStory.code).toBe(0);
      expect(gmStory.stdout).toContain("## Cast");
      expect(gmStory.stdout).toContain("**Mara**");
      expect(gmStory.stdout).toContain("## Chapter 2");
      expect(gmStory.stdout).toMatch(/\[\^1\]: turn \d+: Athletics \+2/);
      expect(gmStory.stdout).toContain("**Retcon**");
      expect(gmStory.stdout).toContain("was undone");
      expect(gmStory.stdout).toContain(HIDDEN_ROLL);
      // each save point after the turn it was named at, with who named it
      for (const [name, who] of [
        [MARA_SAVE, "Mara"],
        [TAM_SAVE, "Tam"],
      ] as const) {
        expect(gmStory.stdout).toContain(
          `*Save point “${name}”, named by ${who} at turn ${played.saves[name]}.*`,
        );
      }
      const playerStory = await loom([
        ...dir(),
        "export",
        played.universeId,
        "--format",
        "markdown",
        "--as",
        `player:${played.playerId}`,
      ]);
      expect(playerStory.code).toBe(0);
      expect(playerStory.stdout).toContain("## Chapter 1");
      expect(playerStory.stdout).not.toContain(GM_NOTE);
      expect(playerStory.stdout).not.toContain(HIDDEN_ROLL);
      expect(playerStory.stdout).toContain(`*Save point “${MARA_SAVE}”`);
      expect(playerStory.stdout).not.toContain("hidden cove");
    });

    it("jump and replay read the timeline in the terminal", async () => {
      const jump = await loom([...dir(), "jump", played.universeId, "3"]);
      expect(jump.code).toBe(0);
      expect(jump.stdout).toContain("at position 3");
      expect(jump.stdout).toContain("Mara: fate points");
      const replay = await loom([...dir(), "replay", played.universeId, "--from", "2", "--speed", "0"]);
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain("— 2 ·");
      expect(replay.stdout).not.toContain("— 1 ·");
      expect(replay.stdout).toContain("RETCON: The flats were always salt");
    });

    it("replay and universes show terminal controls stored before the rule as escapes, not obeyed", async () => {
      const stores = await createStores({ dataDir: `${dataDir}/pglite` });
      const db = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
      const { sql } = await import("drizzle-orm");
      const [name, prose] = ["Salt\x1b]0;owned\x07\x1b[2J\u202E", String.raw`\u001b[2J\u001b[8m`];
      const original = (await loom([...dir(), "universes", "--json"])).stdout;
      const oldName = (
        JSON.parse(original.split("\n").find((l) => l.includes(played.universeId))!) as { name: string }
      ).name;
      await db.execute(sql`update universes set name = ${name} where id = ${played.universeId}`);
      await db.execute(
        sql`update turns set events = replace(events::text, 'Mara', ${`Mara${prose}`})::json, narration = replace(narration::text, 'Mara', ${`Mara${prose}`})::json where universe_id = ${played.universeId}`,
      );
      await stores.turnStore.close();
      try {
        const listed = await loom([...dir(), "universes"]);
        const replayed = await loom([...dir(), "replay", played.universeId, "--speed", "0"]);
        for (const run of [listed, replayed]) {
          expect(run.code).toBe(0);
          for (const control of ["\x1b", "\x07", "\u202e"]) expect(run.stdout).not.toContain(control);
        }
        expect(listed.stdout).toContain(String.raw`Salt\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}`);
        expect(replayed.stdout).toContain(String.raw`Mara\u{1b}[2J\u{1b}[8m`);
      } finally {
        const again = await createStores({ dataDir: `${dataDir}/pglite` });
        const restore = (again.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } })
          .db;
        await restore.execute(sql`update universes set name = ${oldName} where id = ${played.universeId}`);
        await restore.execute(
          sql`update turns set events = replace(events::text, ${`Mara${prose}`}, 'Mara')::json, narration = replace(narration::text, ${`Mara${prose}`}, 'Mara')::json where universe_id = ${played.universeId}`,
        );
        await again.turnStore.close();
      }
    }, 180_000);

    it("backup and restore round trip the whole embedded database", { timeout: 240_000 }, async () => {
      const file = join(work, "backup.tar.gz");
      const backup = await loom([...dir(), "backup", file]);
      expect(backup.code).toBe(0);
      const elsewhere = tempDir("loom-cli-restored-");
      const restore = await loom(["--data-dir", elsewhere, "restore", file]);
      expect(restore.stderr).toBe("");
      expect(restore.code).toBe(0);
      const twice = await loom(["--data-dir", elsewhere, "restore", file]);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain("--force");
      const jump = await loom([
        "--data-dir",
        elsewhere,
        "jump",
        played.universeId,
        String(played.head),
        "--json",
      ]);
      expect(JSON.parse(jump.stdout)).toMatchObject({ checksum: played.headChecksum });
      const original = (await loom([...dir(), "universes", "--json"])).stdout;
      expect((await loom(["--data-dir", elsewhere, "universes", "--json"])).stdout).toBe(original);

      // a backup of a database a newer Loom migrated is refused, as a start on it would be
      const newer = new PGlite(join(elsewhere, "pglite"));
      await newer.query(
        "insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', 4102444800000)",
      );
      await newer.close();
      const newerFile = join(work, "newer.tar.gz");
      expect((await loom(["--data-dir", elsewhere, "backup", newerFile])).code).toBe(0);
      const third = tempDir("loom-cli-restored-");
      const refused = await loom(["--data-dir", third, "restore", newerFile]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("migrated by a newer Loom");
      expect(existsSync(join(third, "pglite"))).toBe(false);
    });

    it("the bin runs from the repository root (npx loom)", () => {
      const bin = spawnSync(process.execPath, [join(root, "server/bin/loom.mjs"), "verify", "--help"], {
        cwd: root,
        encoding: "utf8",
      });
      expect(bin.status).toBe(0);
      expect(bin.stdout).toContain("Usage: loom verify");
      // the embedded database: DATABASE_URL (set for the Postgres suites) would take precedence
      const env = { ...process.env, DATABASE_URL: "" };
      const npx = spawnSync("npx", ["--no-install", "loom", "universes", "--data-dir", dataDir], {
        cwd: root,
        encoding: "utf8",
        env,
      });
      expect(npx.stderr).toBe("");
      expect(npx.stdout).toContain(played.universeId);
    }, 180_000);
  });
});

const shared = modes().find((mode) => mode.name === "postgres+redis")!;
describe.skipIf(!shared.available)("loom command line beside a running server (postgres+redis)", () => {
  let server: LoomServer & { url: string };
  let work: string;
  const db = () => ["--database-url", shared.databaseUrl!];

  beforeAll(async () => {
    work = tempDir("loom-cli-pg-");
    server = await startServer(shared, { port: 2651 });
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it("exports, imports and verifies while the server runs; a damaged newest snapshot keeps the universe closed until --repair", async () => {
    const gm = connect(server.url);
    await gm.registerPlayer("Game Master");
    const universe = await gm.createUniverse({ name: "Ashfall", visibility: "public" });
    const player = connect(server.url);
    await player.registerPlayer("Ilse");
    const { character, run } = await player.createCharacter(universe.id, sheet("Ilse"));
    const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
    let last = 0;
    for (let i = 0; i < 8; i++) {
      const result = await session.act(overcome(character.id, `climbs ${i}`));
      expect(result.ok).toBe(true);
      if (result.ok) last = result.turn.position;
    }
    await player.nameSavePoint(universe.id, last, "Halfway up the ash");
    await session.leave();
    const snapshotAt = await gm.snapshot(universe.id);
    // (the state is not read here: this process would then hold the snapshot as checked)

    // Postgres is shared: no lock, the CLI works beside the server
    const file = join(work, "ashfall.jsonl");
    const exported = await loom([...db(), "export", universe.id, "--out", file]);
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    const imported = await loom([...db(), "import", file, "--name", "Ashfall copy"]);
    expect(imported.code).toBe(0);
    const [, at, headChecksum] = /state at (\d+) ([0-9a-f]{64})/.exec(imported.stdout)!;
    expect(Number(at)).toBe(snapshotAt);
    const copy = /imported (\S+) /.exec(imported.stdout)![1]!;
    expect((await loom([...db(), "verify", copy])).code).toBe(0);
    // the save point came along: the copy's game master sees it among its bookmarks
    expect(imported.stdout).toContain("; 1 save points\n");
    expect(await gm.bookmarks(copy)).toContainEqual({
      position: last,
      kind: "save_point",
      label: "save point: Halfway up the ash",
      name: "Halfway up the ash",
    });

    // the room closes once everyone has left; then the newest snapshot is damaged behind its back.
    // A room nobody joined (the snapshot's request opens one) would close only when Colyseus's seat
    // reservation time (15 s) runs out: with nobody in it, it is closed now.
    const room = matchMaker.getLocalRoomById(universe.id);
    if (room) {
      expect(room.clients.length).toBe(0);
      await room.disconnect();
    }
    await waitFor(() => matchMaker.getLocalRoomById(universe.id) === undefined, 60_000, "the room to close");
    const stores = await createStores({ databaseUrl: shared.databaseUrl!, poolSize: 1 });
    const raw = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
    const { sql } = await import("drizzle-orm");
    await raw.execute(
      sql`update snapshots set state = jsonb_set(loom_snapshot_document(universe_id, state, skeleton, parts)::jsonb, '{mode}', '"downtime"')::json, skeleton = null, parts = null where universe_id = ${universe.id} and position = ${snapshotAt}`,
    );
    await stores.turnStore.close();

    const refused = await fetch(`${server.url}/api/universes/${universe.id}/open`, {
      method: "POST",
      headers: { authorization: `Bearer ${gm.playerToken}` },
    });
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("damaged_snapshot");
    expect(body.error.message).toContain(`snapshot at position ${snapshotAt}`);
    const metrics = (await (await fetch(`${server.url}/metrics.json`, { headers: OPERATOR })).json()) as {
      persist: { damagedSnapshots: number; lastDamagedSnapshot: string };
    };
    expect(metrics.persist.damagedSnapshots).toBeGreaterThanOrEqual(1);
    expect(metrics.persist.lastDamagedSnapshot).toBe(`${universe.id}@${snapshotAt}`);
    // and to Prometheus
    const exposition = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(exposition.get("loom_damaged_snapshots_total")?.type).toBe("counter");
    expect(sampleValue(exposition, "loom_damaged_snapshots_total")).toBe(metrics.persist.damagedSnapshots);

    const found = await loom([...db(), "verify", universe.id]);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(`MISMATCH snapshot at position ${snapshotAt}`);
    expect(found.stdout).toContain("/mode");
    expect((await loom([...db(), "verify", universe.id, "--repair"])).code).toBe(0);
    const opened = await fetch(`${server.url}/api/universes/${universe.id}/open`, {
      method: "POST",
      headers: { authorization: `Bearer ${gm.playerToken}` },
    });
    expect(opened.status).toBe(200);
    expect((await gm.stateAt(universe.id)).checksum).toBe(headChecksum);
  }, 180_000);

  it("verify finds a turn deleted from the middle of a timeline, and one deleted at its head", async () => {
    const gm = connect(server.url);
    await gm.registerPlayer("Game Master");
    const universe = await gm.createUniverse({ name: "Cinders", visibility: "public" });
    const player = connect(server.url);
    await player.registerPlayer("Odo");
    const { character, run } = await player.createCharacter(universe.id, sheet("Odo"));
    const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
    for (let i = 0; i < 6; i++)
      expect((await session.act(overcome(character.id, `digs ${i}`))).ok).toBe(true);
    await session.leave();
    const head = await gm.snapshot(universe.id);
    const room = matchMaker.getLocalRoomById(universe.id);
    if (room) await room.disconnect();
    await waitFor(() => matchMaker.getLocalRoomById(universe.id) === undefined, 60_000, "the room to close");
    expect((await loom([...db(), "verify", universe.id])).code).toBe(0);

    const stores = await createStores({ databaseUrl: shared.databaseUrl!, poolSize: 1 });
    const raw = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } }).db;
    const { sql } = await import("drizzle-orm");
    try {
      await raw.execute(sql`delete from turns where universe_id = ${universe.id} and position = ${head}`);
      const tail = await loom([...db(), "verify", universe.id]);
      expect(tail.code, tail.stdout + tail.stderr).toBe(1);
      expect(tail.stdout).toContain(
        `MISSING turn at position ${head}: the timeline ends at ${head - 1}, its head is ${head}; ` +
          `the snapshot at ${head} not checked\n`,
      );
      expect(tail.stdout).not.toContain("intact");
      expect(tail.stderr).toContain("damaged (turns missing, above)");
      await raw.execute(sql`delete from turns where universe_id = ${universe.id} and position = 3`);
      const middle = await loom([...db(), "verify", universe.id]);
      expect(middle.code, middle.stdout + middle.stderr).toBe(1);
      expect(middle.stdout).toContain("MISSING turn at position 3: the timeline goes from 2 to 4; ");
      expect(middle.stderr).toContain("damaged (turns missing, above)");
    } finally {
      await stores.turnStore.close();
    }
  }, 180_000);
});
