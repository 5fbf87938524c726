import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  canonicalWithChecksum,
  checksum,
  evolve,
  upcastState,
  upgradeDelta,
  type Delta,
  type UniverseState,
} from "@loom/shared";
import { createStores } from "../server/src/persist/index.ts";
import { loom as runLoom } from "./support/cli.ts";
import { modes, tempDir } from "./support/server.ts";

/**
 * `loom import FILE --replay` against the committed reference exports (test/fixtures/replay/, one
 * per export format version, written by scripts/make-replay-fixture.ts): a branch with every
 * command kind, undos of its own and of inherited turns, retcons and both stretches' dice
 * revealed. Each re-executes to the recorded rolls and deltas with the current rules. A copy with
 * one recorded outcome changed — a die of a roll, or a delta with every later snapshot and
 * checksum made to agree — passes every other check and is refused by re-execution alone, naming
 * the line, the position and what differs. The real command line on the embedded database and on
 * Postgres: each reference's import and one refusal as a process of its own (the bin
 * `npx loom` runs: exit codes and streams as a shell sees them); the other commands through the
 * same runCli in this process, which saves a Node and tsx start each.
 */
const root = resolve(import.meta.dirname, "..");
const FIXTURES = join(root, "test/fixtures/replay");
const references = readdirSync(FIXTURES)
  .filter((name) => /^reference\.v\d+\.jsonl$/.test(name))
  .sort();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `loom <args>` as its own process (the bin `npx loom` runs), on the given database. */
function loomProcess(args: string[], database: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, "server/bin/loom.mjs"), ...database, "--no-progress", ...args],
      // DATABASE_URL of the test run must not override --data-dir
      { cwd: root, env: { ...process.env, DATABASE_URL: "" }, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `loom <args>` in this process, on the given database (no DATABASE_URL of the test run). */
function loom(args: string[], database: string[]): Promise<Run> {
  return runLoom([...database, "--no-progress", ...args]);
}

type Line = Record<string, unknown> & { type: string };

function readLines(file: string): Line[] {
  return readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((text) => JSON.parse(text) as Line);
}

function write(lines: Line[], file: string): string {
  writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
  return file;
}

interface TurnLine extends Line {
  position: number;
  deltas: Delta[];
  resolution: { dice: number[]; hidden: boolean } | null;
}

/** Every snapshot at or after `from` made to agree with the (changed) deltas, its checksum recomputed. */
function reseal(lines: Line[], from: number): Line[] {
  let state: UniverseState | null = null;
  return lines.map((line) => {
    if (line.type === "turn") {
      if (state) state = evolve(state, (line as TurnLine).deltas);
      return line;
    }
    if (line.type !== "snapshot") return line;
    if (state === null || (line.position as number) < from) {
      state = structuredClone(line.state) as UniverseState;
      return line;
    }
    const { json, checksum } = canonicalWithChecksum(state);
    return { ...line, state: JSON.parse(json) as unknown, checksum };
  });
}

for (const mode of modes()) {
  const databaseUrl = mode.name === "embedded" ? null : process.env.DATABASE_URL || null;
  describe.skipIf(mode.name !== "embedded" && !databaseUrl)(
    `loom import --replay of the reference exports (${mode.name})`,
    () => {
      let database: string[];
      const work = tempDir("loom-replay-");
      const universes = async () => (await loom(["universes", "--json"], database)).stdout;
      // the imports' game master (`--gm`): the fixtures' creator is no player of this database
      const gm = `replay-gm-${randomUUID()}`;
      const asGm = (args: string[]) => (args[0] === "import" ? [...args, "--gm", gm] : args);

      beforeAll(async () => {
        const dataDir = tempDir("loom-replay-data-");
        database = databaseUrl ? ["--database-url", databaseUrl] : ["--data-dir", dataDir];
        expect(references).toContain("reference.v1.jsonl");
        expect(references.length).toBeGreaterThanOrEqual(2);
        const stores = databaseUrl
          ? await createStores({ databaseUrl, poolSize: 1 })
          : await createStores({ dataDir: `${dataDir}/pglite` });
        try {
          await stores.accountStore.createAccount({
            id: gm,
            name: "Replay GM",
            login: null,
            passwordHash: null,
            createdAt: new Date(),
          });
        } finally {
          await stores.turnStore.close();
        }
      });

      it("every committed reference (each format version) re-executes to its recorded rolls and deltas", async () => {
        const heads = new Set<string>();
        for (const name of references) {
          const file = join(FIXTURES, name);
          const lines = readLines(file);
          const turns = lines.filter((line) => line.type === "turn") as TurnLine[];
          const last = lines.filter((line) => line.type === "snapshot").at(-1)!;
          // the file holds what replay is for: every command kind, undos, retcons, a branch's two dice stretches
          const kinds = new Set(
            turns.map((turn) => (turn as unknown as { input: { kind: string } }).input.kind),
          );
          for (const kind of [
            "action",
            "undo",
            "retcon",
            "add_character",
            "run_end",
            "run_pause",
            "npc",
            "quest",
            "compel",
            "concede",
          ])
            expect(kinds, `${name}: ${kind}`).toContain(kind);
          expect((lines[0]!.dice as unknown[]).length, name).toBe(2);

          const run = await loomProcess(
            asGm(["import", file, "--replay", "--name", `replayed ${name}`]),
            database,
          );
          expect(run.stderr, name).toBe("");
          expect(run.code, name).toBe(0);
          expect(run.stdout).toContain(`${turns.length} turns re-executed and equal`);
          // the state the file ends with, in the current state version (the file's may be older)
          const head = checksum(upcastState(last.state));
          expect(run.stdout).toContain(`state at ${turns.length} ${head}`);
          heads.add(head);
          const id = /imported (\S+) /.exec(run.stdout)![1]!;
          expect((await loom(["verify", id], database)).code, name).toBe(0);
        }
        // every version's file is the same campaign
        expect(heads.size).toBe(1);
      }, 300_000);

      it("a die of one recorded roll changed: every checksum still agrees, re-execution alone refuses it", async () => {
        const newest = join(FIXTURES, references.at(-1)!);
        const lines = readLines(newest);
        const index = lines.findLastIndex(
          (line) => line.type === "turn" && (line as TurnLine).resolution !== null,
        );
        const turn = lines[index] as TurnLine;
        const faces = turn.resolution!.dice;
        const turned = [faces[0] === 1 ? -1 : faces[0]! + 1, ...faces.slice(1)];
        const changed = [...lines];
        changed[index] = { ...turn, resolution: { ...turn.resolution!, dice: turned } };
        const file = write(changed, join(work, "die.jsonl"));
        const before = await universes();

        const checked = await loom(["verify", file], database);
        expect(checked.code).toBe(0);
        const replayed = await loom(asGm(["import", file, "--replay"]), database);
        expect(replayed.code).toBe(1);
        expect(replayed.stderr).toContain(
          `line ${index + 1}: replay_mismatch: turn ${turn.position} does not replay: the roll's dice: recorded ${JSON.stringify(turned)}, re-executed ${JSON.stringify(faces)}`,
        );
        expect(await universes()).toBe(before);
      }, 300_000);

      it("a delta changed and every later snapshot and checksum made to agree: verify and a plain import pass, --replay refuses it", async () => {
        const newest = join(FIXTURES, references.at(-1)!);
        const lines = readLines(newest);
        // a turn of the branch's own stretch that sets a number (a stress box count, fate points…)
        const index = lines.findIndex(
          (line) =>
            line.type === "turn" &&
            (line.position as number) > 100 &&
            (line as TurnLine).deltas.some((delta) => delta.op === "set" && typeof delta.value === "number"),
        );
        const turn = lines[index] as TurnLine;
        const at = turn.deltas.findIndex((delta) => delta.op === "set" && typeof delta.value === "number");
        const delta = turn.deltas[at]!;
        const altered = { ...delta, value: (delta.value as number) + 1 } as Delta;
        const changed = [...lines];
        changed[index] = { ...turn, deltas: turn.deltas.map((d, i) => (i === at ? altered : d)) };
        const file = write(reseal(changed, turn.position), join(work, "delta.jsonl"));

        // the snapshots agree with the changed deltas: only re-execution can tell
        const checked = await loom(["verify", file], database);
        expect(checked.stdout).toContain("intact");
        expect(checked.code).toBe(0);
        const before = await universes();
        const replayed = await loom(asGm(["import", file, "--replay"]), database);
        expect(replayed.code).toBe(1);
        expect(replayed.stderr).toContain(
          `line ${index + 1}: replay_mismatch: turn ${turn.position} does not replay: delta ${at + 1} at ${upgradeDelta(delta).path}: recorded ${JSON.stringify(upgradeDelta(altered))}`,
        );
        // both in the current layout, whatever state version the file was written in
        expect(replayed.stderr).toContain(`re-executed ${JSON.stringify(upgradeDelta(delta))}`);
        expect(await universes()).toBe(before);
        const plain = await loom(asGm(["import", file]), database);
        expect(plain.code).toBe(0);
      }, 300_000);

      it("--replay of a file whose dice are sealed is refused on the header; an unknown version too", async () => {
        const lines = readLines(join(FIXTURES, references.at(-1)!));
        const header = lines[0]!;
        const sealed = write(
          [
            {
              ...header,
              dice: (header.dice as Array<Record<string, unknown>>).map((d) => ({
                ...d,
                secret: null,
                revealedAt: null,
              })),
            },
            ...lines.slice(1),
          ],
          join(work, "sealed.jsonl"),
        );
        const refused = await loomProcess(asGm(["import", sealed, "--replay"]), database);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("line 1: --replay needs the dice secret of replay-reference");
        const future = write([{ ...header, version: 99 }, ...lines.slice(1)], join(work, "future.jsonl"));
        const unknown = await loom(asGm(["import", future, "--replay"]), database);
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain(
          "line 1: export format version 99 is not known (this Loom reads 1, 2)",
        );
      }, 300_000);
    },
  );
}
