import { createHash, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  canonicalWithChecksum,
  pathIdSchema,
  POSITION_MAX,
  seededDice,
  undoTargetOf,
  universeBodySchema,
  type SavePointRecord,
} from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { sql } from "drizzle-orm";
import { createStores, type Stores } from "../server/src/persist/index.ts";
import { createWorkerStores } from "../server/src/persist/worker-store.ts";
import { loom, type CliRun } from "./support/cli.ts";
import { tempDir } from "./support/server.ts";
import { appendPlayed } from "./support/timeline.ts";

/**
 * `loom import` trusts a file only as far as it checks it: a crafted or damaged file is refused at
 * its line, and nothing of it stays (no universe, no rows), when its states are no states, a
 * snapshot's checksum is of an edited text of it, its undos name turns they cannot undo, its game
 * master is nobody here, its save points are more than a player may have or what the database
 * cannot store, a line is longer than any a writer makes, or it holds what the API would not take
 * (a universe's name or premise, ids, positions, times).
 * Through the command line, on the embedded database and on Postgres (DATABASE_URL).
 */
const SEED = 4_242;
const SNAPSHOT_EVERY = 100;
/** The head is no snapshot's position: the state at the head is the turns' since the last one. */
const TURNS = 290;
const BRANCH_AT = 250;
const BRANCH_TURNS = 30;

const modes = [
  { name: "embedded", databaseUrl: null as string | null },
  { name: "postgres", databaseUrl: process.env.DATABASE_URL || null },
];

type Line = Record<string, unknown> & { type: string; position?: number };

type SaveOf = Omit<SavePointRecord, "universeId">;

/** The API's bounds, as the import must apply them: from where the API has them. */
const NAME_MIN = universeBodySchema.shape.name.minLength!;
const NAME_MAX = universeBodySchema.shape.name.maxLength!;
const PREMISE_MAX = universeBodySchema.shape.premise.unwrap().maxLength!;
const ID_MAX = pathIdSchema.maxLength!;

/** A long text in a refusal: its start, and its length. */
const cut = (text: string) => `${JSON.stringify(text.slice(0, 40))}… (${text.length} characters)`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

for (const mode of modes) {
  describe.skipIf(!mode.databaseUrl && mode.name === "postgres")(
    `loom import refuses what it cannot trust, leaving nothing (${mode.name})`,
    () => {
      const tag = randomUUID().slice(0, 8);
      const gm = `gm-${tag}`;
      const mara = `mara-${tag}`;
      const tam = `tam-${tag}`;
      const universeId = `refusals-${tag}`;
      const branchId = `${universeId}-branch`;
      const work = tempDir("loom-import-refusals-");
      const dataDir = tempDir("loom-import-refusals-data-");
      const db = () => (mode.databaseUrl ? ["--database-url", mode.databaseUrl] : ["--data-dir", dataDir]);
      /**
       * The refusals run the embedded database on the command's own thread (LOOM_PGLITE_WORKER=0):
       * what is refused does not depend on the thread, and a worker's start is most of an embedded
       * command's time. The file as exported imports with the default, a worker.
       */
      const onThisThread: NodeJS.ProcessEnv = mode.databaseUrl ? {} : { LOOM_PGLITE_WORKER: "0" };
      /** Every attempt names its universe with this prefix: what an attempt left is found by it. */
      const prefix = `refused ${tag}`;
      let full: Line[];
      let reference: Line[];
      let fullFile: string;

      const open = () =>
        mode.databaseUrl
          ? createStores({ databaseUrl: mode.databaseUrl, poolSize: 1 })
          : createStores({ dataDir: `${dataDir}/pglite` });

      /**
       * The universes the attempts left (by name), their turns, snapshots and save points; and, on
       * the embedded database (no other test writes to it), every row of those tables.
       */
      async function rows(): Promise<Record<string, number>> {
        const stores = await open();
        try {
          const raw = (stores.turnStore as unknown as { db: { execute: (q: unknown) => Promise<unknown> } })
            .db;
          const like = `${prefix}%`;
          const result = (await raw.execute(sql`
            select
              (select count(*) from universes where name like ${like})::int as universes,
              (select count(*) from turns t join universes u on u.id = t.universe_id where u.name like ${like})::int as turns,
              (select count(*) from snapshots s join universes u on u.id = s.universe_id where u.name like ${like})::int as snapshots,
              (select count(*) from save_points p join universes u on u.id = p.universe_id where u.name like ${like})::int as save_points,
              ${mode.databaseUrl ? sql`0` : sql`(select count(*) from universes)`}::int as all_universes,
              ${mode.databaseUrl ? sql`0` : sql`(select count(*) from turns)`}::int as all_turns,
              ${mode.databaseUrl ? sql`0` : sql`(select count(*) from snapshots)`}::int as all_snapshots,
              ${mode.databaseUrl ? sql`0` : sql`(select count(*) from save_points)`}::int as all_save_points`)) as
            { rows: Array<Record<string, number>> } | Array<Record<string, number>>;
          return Array.isArray(result) ? result[0]! : result.rows[0]!;
        } finally {
          await stores.turnStore.close();
        }
      }

      /** Runs each attempt (a name and the file's lines) and expects every one refused, nothing left. */
      async function refusals(
        attempts: Array<{ name: string; lines: Line[] | string[]; args?: string[]; env?: NodeJS.ProcessEnv }>,
        code = 1,
      ): Promise<Record<string, string>> {
        const before = await rows();
        const messages: Record<string, string> = {};
        const attempted = async (attempt: (typeof attempts)[number]) => {
          const file = join(work, `${attempt.name}.jsonl`);
          writeFileSync(
            file,
            `${attempt.lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`,
          );
          const run: CliRun = await loom(
            [...db(), "import", file, "--name", `${prefix} ${attempt.name}`, ...(attempt.args ?? [])],
            { ...onThisThread, ...attempt.env },
          );
          return { attempt, file, run };
        };
        // Postgres takes a few imports at once, each in its own transaction and on connections of
        // its own (the server is shared, hence a few); the embedded database takes one command at
        // a time (the data folder's lock)
        const waiting = [...attempts];
        const lanes = Array.from({ length: mode.databaseUrl ? 4 : 1 }, async () => {
          const done: Array<Awaited<ReturnType<typeof attempted>>> = [];
          for (let next = waiting.shift(); next; next = waiting.shift()) done.push(await attempted(next));
          return done;
        });
        const runs = (await Promise.all(lanes))
          .flat()
          .sort((a, b) => attempts.indexOf(a.attempt) - attempts.indexOf(b.attempt));
        for (const { attempt, file, run } of runs) {
          // each attempt on its own: a failure names every one that was not refused
          expect.soft(run.code, `${attempt.name}: ${run.stdout}${run.stderr}`).toBe(code);
          expect.soft(run.stderr, attempt.name).toContain(`refused ${file}: `);
          messages[attempt.name] = run.stderr;
        }
        expect(await rows()).toEqual(before);
        expect.soft(before).toMatchObject({ universes: 0, turns: 0, snapshots: 0, save_points: 0 });
        return messages;
      }

      const lineOf = (lines: Line[], type: string, position: number) =>
        lines.findIndex((l) => l.type === type && l.position === position);

      /** The lines with the turn at `position` changed into an undo naming `target` (its deltas as they were). */
      function undoAt(lines: Line[], position: number, target: number): Line[] {
        const at = lineOf(lines, "turn", position);
        expect(at).toBeGreaterThan(0);
        return lines.map((l, i) =>
          i === at ? { ...l, kind: "undo", input: { kind: "undo", targetPosition: target } } : l,
        );
      }

      beforeAll(async () => {
        const stores = await open();
        try {
          const now = new Date();
          for (const [id, name] of [
            [gm, "Game Master"],
            [mara, "Mara"],
            [tam, "Tam"],
          ] as const)
            await stores.accountStore.createAccount({
              id,
              name,
              login: null,
              passwordHash: null,
              createdAt: now,
            });
          const parent = simulateCampaign({ seed: SEED, turns: TURNS, universeId });
          await stores.turnStore.createUniverse(
            { id: universeId, name: "The Salt Road", createdBy: gm },
            parent.genesis,
          );
          await appendPlayed(stores.turnStore, universeId, parent.genesis, parent.turns, {
            from: 0,
            snapshotEvery: SNAPSHOT_EVERY,
          });
          for (const [playerId, name, position] of [
            [mara, "Dawn", 40],
            [mara, "Dusk", 120],
            [tam, "Noon", 200],
          ] as const) {
            const named = await stores.savePoints.nameSavePoint(
              { universeId, playerId, name, position },
              100,
            );
            expect(named.ok).toBe(true);
          }
          const own = seededDice(SEED + 1);
          const shared = seededDice(SEED);
          const branch = simulateCampaign({
            seed: SEED,
            turns: BRANCH_AT + BRANCH_TURNS,
            universeId: branchId,
            dice: (position) => (position <= BRANCH_AT ? shared(position) : own(position)),
          });
          await stores.turnStore.branchUniverse({
            id: branchId,
            parentId: universeId,
            position: BRANCH_AT,
            name: "The Salt Road, turned",
            createdBy: gm,
          });
          const atBranch = (await stores.turnStore.stateAt(universeId, BRANCH_AT)).state;
          await appendPlayed(stores.turnStore, branchId, atBranch, branch.turns.slice(BRANCH_AT), {
            from: BRANCH_AT,
            snapshotEvery: SNAPSHOT_EVERY,
          });
        } finally {
          await stores.turnStore.close();
        }
        fullFile = join(work, "full.jsonl");
        const referenceFile = join(work, "reference.jsonl");
        expect((await loom([...db(), "export", universeId, "--out", fullFile])).code).toBe(0);
        const exported = await loom([
          ...db(),
          "export",
          branchId,
          "--ancestry",
          "reference",
          "--out",
          referenceFile,
        ]);
        expect(exported.code).toBe(0);
        const parse = (file: string) =>
          readFileSync(file, "utf8")
            .trimEnd()
            .split("\n")
            .map((l) => JSON.parse(l) as Line);
        full = parse(fullFile);
        reference = parse(referenceFile);
        // the campaign has what the refusals below change: undos before the branch point, save points
        const undos = full.filter((l) => l.type === "turn" && l.kind === "undo");
        expect(undos.filter((l) => l.position! < BRANCH_AT).length).toBeGreaterThan(1);
        expect(full.filter((l) => l.type === "save_point")).toHaveLength(3);
        expect(reference[0]!.from).toBe(BRANCH_AT);
      }, 180_000);

      it("the file as exported imports, and the output names its game master", async () => {
        const run = await loom([...db(), "import", fullFile, "--name", `copy ${tag}`]);
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expect(run.stdout).toContain(`${TURNS} turns`);
        expect(run.stdout).toContain("; 3 save points\n");
        expect(run.stdout).toContain(
          `game master: ${gm} "Game Master" (the exported creator; --gm names another)\n`,
        );
        // every save point of the file, as it was named
        const copy = /imported (\S+) /.exec(run.stdout)![1]!;
        const stores = await open();
        try {
          const saves = async (id: string) =>
            (await stores.savePoints.listSavePoints(id, { limit: 100 })).map(
              ({ universeId: _universeId, ...save }) => save,
            );
          const original = await saves(universeId);
          expect(original).toHaveLength(3);
          expect(await saves(copy)).toEqual(original);
          expect((await stores.turnStore.getUniverse(copy))?.createdBy).toBe(gm);
        } finally {
          await stores.turnStore.close();
        }
        const chosen = await loom([...db(), "import", fullFile, "--name", `copy ${tag} 2`, "--gm", tam]);
        expect(chosen.code).toBe(0);
        expect(chosen.stdout).toContain(`game master: ${tam} "Tam"\n`);
      }, 120_000);

      it("a snapshot whose document is no state, or a timeline whose turns end in none, is refused at its line", async () => {
        const header = { ...full[0]!, head: 0 };
        const genesis = full[1]!;
        const end = { type: "end", turns: 0, snapshots: 1, savePoints: 0 };
        // self-consistent: the document hashes to its checksum
        const snapshotOf = (state: Record<string, unknown>) => ({
          ...genesis,
          checksum: sha256(JSON.stringify(state)),
          state,
        });
        const last = lineOf(full, "turn", TURNS);
        const lastTurn = full[last]! as Line & { deltas: Array<Record<string, unknown>> };
        const withDelta = (delta: Record<string, unknown>) =>
          full.map((l, i) => (i === last ? { ...lastTurn, deltas: [...lastTurn.deltas, delta] } : l));
        const messages = await refusals([
          { name: "genesis-version-only", lines: [header, snapshotOf({ version: 3 }), end] },
          { name: "genesis-old-version", lines: [header, snapshotOf({ version: 1 }), end] },
          { name: "genesis-unknown-version", lines: [header, snapshotOf({ version: 99 }), end] },
          {
            name: "head-state",
            lines: withDelta({ op: "set", path: "/mode", value: "bogus", prev: "scene" }),
          },
          { name: "delta-nowhere", lines: withDelta({ op: "set", path: "/nowhere/at/all", value: 1 }) },
          // a key the room's synced maps cannot hold: every patch of the room would fail
          {
            name: "inherited-key",
            lines: withDelta({
              op: "set",
              path: "/scene/aspects/valueOf",
              value: {
                id: "valueOf",
                name: "Fog",
                freeInvokes: 0,
                boost: false,
                createdBy: null,
                sourcePosition: 1,
              },
            }),
          },
        ]);
        expect
          .soft(messages["genesis-version-only"])
          .toContain("line 2: snapshot at position 0 is not a Loom state (version 3): /universe: ");
        expect
          .soft(messages["genesis-old-version"])
          .toContain("line 2: snapshot at position 0 is not a Loom state (version 1, upcast to 3): ");
        expect
          .soft(messages["genesis-unknown-version"])
          .toContain("line 2: snapshot at position 0 is of state version 99, which this Loom does not know");
        expect
          .soft(messages["head-state"])
          .toContain(
            `line ${full.length}: the state at position ${TURNS}, the head, as its turns replay to, is not a Loom state: /mode: `,
          );
        expect
          .soft(messages["inherited-key"])
          .toContain(
            `line ${full.length}: the state at position ${TURNS}, the head, as its turns replay to, is not a Loom state: /scene/aspects/valueOf: a name every object inherits cannot be a key here`,
          );
        expect
          .soft(messages["delta-nowhere"])
          .toContain(
            `line ${last + 1}: turn at position ${TURNS}: its deltas do not apply to the state before it: `,
          );
      }, 180_000);

      it("a snapshot whose checksum is of its line's text, edited out of canonical JSON, is refused at its line by import and verify", async () => {
        const texts = readFileSync(fullFile, "utf8").trimEnd().split("\n");
        /** The lines with the snapshot at `position` edited as its text, its checksum that of the edited text. */
        const editedAt = (position: number, edit: (json: string) => string) => {
          const at = lineOf(full, "snapshot", position);
          // as the export lays a snapshot line out: the document last, after the checksum
          const cut = texts[at]!.indexOf(',"state":') + ',"state":'.length;
          const json = texts[at]!.slice(cut, -1);
          const edited = edit(json);
          expect(edited).not.toBe(json);
          const sum = sha256(edited);
          const before = texts[at]!.slice(0, cut).replace(/"checksum":"[0-9a-f]{64}"/, `"checksum":"${sum}"`);
          const line = `${before}${edited}}`;
          expect(JSON.parse(line)).toMatchObject({ checksum: sum });
          return { line: at + 1, sum, lines: texts.map((t, i) => (i === at ? line : t)) };
        };
        const mode = JSON.stringify((full[1]!.state as { mode: string }).mode);
        const unlike = ({ line, sum }: { line: number; sum: string }) =>
          `line ${line}: snapshot at position ${full[line - 1]!.position} does not match its checksum ${sum} (its document hashes to `;
        const notCanonical = "; the line's text of it hashes to the checksum but is not canonical JSON)";
        const attempts = Object.entries({
          "genesis-key-twice": editedAt(0, (json) =>
            json.replace(`"mode":${mode}`, `"mode":${mode},"mode":"conflict"`),
          ),
          "snapshot-space": editedAt(SNAPSHOT_EVERY, (json) => `{ ${json.slice(1)}`),
          "snapshot-escape": editedAt(2 * SNAPSHOT_EVERY, (json) =>
            json.replace('"version":', '"\\u0076ersion":'),
          ),
          // 1e999 parses to Infinity, which has no canonical text
          "snapshot-infinity": editedAt(SNAPSHOT_EVERY, (json) =>
            json.replace(/"version":\d+/, '"version":1e999'),
          ),
        }).map(([name, edited]) => ({
          name,
          ...edited,
          expected:
            name === "snapshot-infinity"
              ? [
                  `line ${edited.line}: snapshot at position ${SNAPSHOT_EVERY}: canonical JSON cannot encode Infinity`,
                ]
              : [unlike(edited), notCanonical],
        }));
        const messages = await refusals(attempts.map(({ name, lines }) => ({ name, lines })));
        for (const { name, expected } of attempts) {
          // the file alone is called what the import calls it
          const file = join(work, `${name}.jsonl`);
          const verified = await loom(["verify", file]);
          expect.soft(verified.code, `${name}: ${verified.stdout}`).toBe(1);
          for (const refusal of expected) {
            expect.soft(messages[name], name).toContain(refusal);
            expect.soft(verified.stderr, name).toContain(refusal);
          }
          expect.soft(verified.stderr, name).toContain(`${file}: line `);
        }
      }, 180_000);

      it("an undo naming a later turn, an undo, or a turn already undone is refused at its line, in the file or its parent's past", async () => {
        const undos = full.filter((l) => l.type === "turn" && l.kind === "undo") as Array<
          Line & { position: number; input: { targetPosition: number } }
        >;
        const involved = new Set(undos.flatMap((u) => [u.position, u.input.targetPosition]));
        // plain turns, not undone, not undos, that no undo names
        const plain = (after: number) => {
          let position = after + 1;
          while (involved.has(position) || involved.has(position + 2)) position += 1;
          return position;
        };
        const early = plain(4);
        const [first] = undos;
        const later = plain(first!.position);
        const line = (lines: Line[], position: number) => lineOf(lines, "turn", position) + 1;
        // the branch's undos of its inherited past: the parent's undo, and a turn the parent undid
        const inherited = undos.filter((u) => u.position <= BRANCH_AT).at(-1)!;
        const own = BRANCH_AT + 1;
        const messages = await refusals([
          { name: "undo-later", lines: undoAt(full, early, early + 2) },
          { name: "undo-itself", lines: undoAt(full, early, early) },
          { name: "undo-an-undo", lines: undoAt(full, later, first!.position) },
          { name: "undo-twice", lines: undoAt(full, later, first!.input.targetPosition) },
          { name: "undo-inherited-undo", lines: undoAt(reference, own, inherited.position) },
          { name: "undo-inherited-undone", lines: undoAt(reference, own, inherited.input.targetPosition) },
        ]);
        expect
          .soft(messages["undo-later"])
          .toContain(
            `line ${line(full, early)}: undo at position ${early} names turn ${early + 2}, which is not an earlier turn of the timeline`,
          );
        expect
          .soft(messages["undo-itself"])
          .toContain(`undo at position ${early} names turn ${early}, which is not an earlier turn`);
        expect
          .soft(messages["undo-an-undo"])
          .toContain(
            `line ${line(full, later)}: undo at position ${later} names turn ${first!.position}, which is an undo itself`,
          );
        expect
          .soft(messages["undo-twice"])
          .toContain(
            `line ${line(full, later)}: undo at position ${later} names turn ${first!.input.targetPosition}, which the undo at position ${first!.position} already undid`,
          );
        expect
          .soft(messages["undo-inherited-undo"])
          .toContain(
            `line ${line(reference, own)}: undo at position ${own} names turn ${inherited.position} of the parent timeline (universe ${universeId}), which is an undo itself`,
          );
        expect
          .soft(messages["undo-inherited-undone"])
          .toContain(
            `undo at position ${own} names turn ${inherited.input.targetPosition} of the parent timeline (universe ${universeId}), which was undone before the branch point ${BRANCH_AT}`,
          );
      }, 180_000);

      it("a game master who is no player here is refused, naming the id and --gm", async () => {
        const ghost = `ghost-${tag}`;
        const header = full[0]! as Line & { universe: Record<string, unknown> };
        const other = [{ ...header, universe: { ...header.universe, createdBy: ghost } }, ...full.slice(1)];
        const messages = await refusals([{ name: "creator-unknown", lines: other }]);
        expect
          .soft(messages["creator-unknown"])
          .toContain(
            `line 1: the exported game master ${ghost} (universe.createdBy) is no player of this database; name one who is with --gm <playerId>`,
          );
        const typo = await refusals([{ name: "gm-typo", lines: full, args: ["--gm", `${mara}x`] }], 2);
        expect
          .soft(typo["gm-typo"])
          .toContain(`--gm ${mara}x: this database has no player ${mara}x; name a player`);
      }, 120_000);

      it("save points beyond the cap, or that the database cannot store, are refused before anything is committed", async () => {
        const saveAt = full.findIndex((l) => l.type === "save_point");
        const saves = full.slice(saveAt, -1) as Array<Line & { playerId: string; name: string }>;
        const secondOfMara = saveAt + saves.findIndex((s, i) => s.playerId === mara && i > 0);
        const changed = (changes: Record<string, unknown>) =>
          full.map((l, i) => (i === saveAt ? { ...l, ...changes } : l));
        const messages = await refusals([
          { name: "save-cap", lines: full, env: { LOOM_MAX_SAVE_POINTS: "1" } },
          // text Postgres does not store (a lone surrogate), and a time it does not take (year 0):
          // written after the commit, either left the universe behind the failing command
          { name: "save-surrogate", lines: changed({ name: "Dawn \ud800" }) },
          { name: "save-year-0", lines: changed({ createdAt: "0000-01-01T00:00:00.000Z" }) },
          // well-formed, and a time Postgres refuses (it takes offsets up to 15:59), or takes as 1 BC
          { name: "save-offset", lines: changed({ createdAt: "2024-05-01T12:00:00+16:00" }) },
          { name: "save-year-0-utc", lines: changed({ createdAt: "0001-01-01T00:30:00+01:00" }) },
        ]);
        expect
          .soft(messages["save-cap"])
          .toContain(
            `line ${secondOfMara + 1}: player ${mara} has more than 1 save points in this file, the most a player may have in a universe here (LOOM_MAX_SAVE_POINTS)`,
          );
        expect
          .soft(messages["save-surrogate"])
          .toContain(
            `line ${saveAt + 1}: save point "Dawn \\ud800": /name holds a NUL or an unpaired surrogate`,
          );
        expect
          .soft(messages["save-year-0"])
          .toContain(`line ${saveAt + 1}: save point "Dawn" was named in the year 0`);
        expect
          .soft(messages["save-offset"])
          .toContain(
            `line ${saveAt + 1}: save point "Dawn" was named at 2024-05-01T12:00:00+16:00, 16:00 from UTC, beyond the 15:59 Postgres takes`,
          );
        expect
          .soft(messages["save-year-0-utc"])
          .toContain(
            `line ${saveAt + 1}: save point "Dawn" was named in the year 0 (0001-01-01T00:30:00+01:00 in UTC), which has no time`,
          );
      }, 120_000);

      it("save points the database refuses take the whole import with them; those it takes come with it", async () => {
        // the embedded database as the server has it, behind its worker thread; Postgres as the CLI has it
        const openStores = () =>
          mode.databaseUrl
            ? createStores({ databaseUrl: mode.databaseUrl, poolSize: 1 })
            : createWorkerStores({ dataDir: `${dataDir}/pglite` });
        const played = simulateCampaign({ seed: SEED, turns: 20, universeId: "" });
        const importing = async (stores: Stores, id: string, name: string, saves: SaveOf[]) => {
          const begun = await stores.turnStore.beginImport({
            universe: { id, name, createdBy: gm },
            genesis: played.genesis,
          });
          const turns = played.turns.map((turn) => ({
            ...turn,
            id: randomUUID(),
            universeId: id,
            status: "applied" as const,
          }));
          const undone = turns.map(undoTargetOf).filter((target): target is number => target !== null);
          const batch = { expectedHead: 0, turns, undone, savePoints: saves };
          return { importId: begun.importId, written: stores.turnStore.importBatch(begun.importId, batch) };
        };
        const named = (playerId: string, name: string, position: number, createdAt: string) => ({
          playerId,
          name,
          position,
          createdAt,
        });
        const before = await rows();
        let stores = await openStores();
        try {
          // given a batch whose second save point has a time Postgres does not take
          const refused = await importing(stores, `${universeId}-refused`, `${prefix} database`, [
            named(mara, "Kept", 5, "2024-05-01T12:00:00.000Z"),
            named(tam, "Refused", 10, "2024-05-01T12:00:00+16:00"),
          ]);
          // then the batch fails at the save points' write, the import with it (the database's own
          // reason, where the error brings it: not across the embedded store's thread)
          const failure = await refused.written.then(
            () => new Error("written"),
            (error: Error) => error,
          );
          expect(failure.message).toContain('insert into "save_points"');
          if (failure.cause instanceof Error)
            expect(failure.cause.message).toContain("time zone displacement out of range");
          await expect(stores.turnStore.commitImport(refused.importId)).rejects.toThrow();
          await stores.turnStore.abortImport(refused.importId);
        } finally {
          await stores.turnStore.close();
        }
        // and nothing of it stays: no universe, no turns, no save points
        expect(await rows()).toEqual(before);

        // given one whose save points the database takes, one of them a player's it does not have
        const keptId = `${universeId}-kept`;
        stores = await openStores();
        try {
          const kept = await importing(stores, keptId, `kept ${tag}`, [
            named(mara, "Kept", 5, "2024-05-01T12:00:00.000Z"),
            named(tam, "Also kept", 20, "2024-05-01T13:00:00+15:59"),
            named(`ghost-${tag}`, "Nobody's", 10, "2024-05-01T12:00:00.000Z"),
          ]);
          // then the batch writes the save points of the players it has
          expect(await kept.written).toEqual({ head: 20, savePoints: 2 });
          // a reader elsewhere sees none of the universe before the commit (the embedded database
          // has one connection: a reader there waits for the import)
          if (mode.databaseUrl) {
            const elsewhere = await open();
            try {
              expect(await elsewhere.turnStore.getUniverse(keptId)).toBeNull();
              expect(await elsewhere.savePoints.listSavePoints(keptId, { limit: 10 })).toEqual([]);
            } finally {
              await elsewhere.turnStore.close();
            }
          }
          await stores.turnStore.commitImport(kept.importId);
          // and, committed, all of it with its save points
          expect(await stores.turnStore.headPosition(keptId)).toBe(20);
          const saves = await stores.savePoints.listSavePoints(keptId, { limit: 10 });
          expect(saves.map((save) => [save.playerId, save.name, save.position, save.createdAt])).toEqual([
            [tam, "Also kept", 20, "2024-04-30T21:01:00.000Z"],
            [mara, "Kept", 5, "2024-05-01T12:00:00.000Z"],
          ]);
        } finally {
          await stores.turnStore.close();
        }
      }, 120_000);

      it("a header holding what the API would not take is refused at line 1, whatever --name says", async () => {
        const header = full[0]! as Line & {
          universe: Record<string, unknown>;
          lineage: Array<Record<string, unknown>>;
          dice: Array<Record<string, unknown>>;
        };
        const withHeader = (changes: Record<string, unknown>) => [
          { ...header, ...changes },
          ...full.slice(1),
        ];
        const withUniverse = (changes: Record<string, unknown>) =>
          withHeader({ universe: { ...header.universe, ...changes } });
        const withDice = (changes: Record<string, unknown>) =>
          withHeader({ dice: [{ ...header.dice[0], ...changes }, ...header.dice.slice(1)] });
        const long = "x".repeat(NAME_MAX + 1);
        const longId = "p".repeat(ID_MAX + 1);
        const messages = await refusals([
          { name: "name-long", lines: withUniverse({ name: long }) },
          { name: "name-blank", lines: withUniverse({ name: "   " }) },
          { name: "name-nul", lines: withUniverse({ name: "Salt\u0000Road" }) },
          { name: "creator-long", lines: withUniverse({ createdBy: longId }) },
          { name: "id-long", lines: withUniverse({ id: longId }) },
          {
            name: "lineage-id-long",
            lines: withHeader({ lineage: [{ ...header.lineage[0], universeId: longId }] }),
          },
          { name: "head-past-integers", lines: withHeader({ head: POSITION_MAX + 1 }) },
          { name: "exported-at", lines: withHeader({ exportedAt: "yesterday" }) },
          { name: "created-at-day", lines: withUniverse({ createdAt: "2024-02-30T12:00:00.000Z" }) },
          { name: "audience", lines: withHeader({ audience: "everyone" }) },
          { name: "commitment", lines: withDice({ commitment: "not a commitment" }) },
          { name: "secret-shape", lines: withDice({ secret: "zz" }) },
          { name: "secret-other", lines: withDice({ secret: "ab".repeat(32) }) },
        ]);
        const at = (member: string, rest: string) => `line 1: the header's ${member} ${rest}`;
        expect
          .soft(messages["name-long"])
          .toContain(
            at(
              "universe.name",
              `${cut(long)} is not a universe's name the API takes: Too big: expected string to have <=${NAME_MAX} characters`,
            ),
          );
        expect
          .soft(messages["name-blank"])
          .toContain(
            at(
              "universe.name",
              `"   " is not a universe's name the API takes: Too small: expected string to have >=${NAME_MIN} characters`,
            ),
          );
        expect
          .soft(messages["name-nul"])
          .toContain("line 1: the header: /universe/name holds a NUL or an unpaired surrogate");
        expect
          .soft(messages["creator-long"])
          .toContain(at("universe.createdBy", `${cut(longId)} is not a player id the API takes: Too big`));
        expect
          .soft(messages["id-long"])
          .toContain(at("universe.id", `${cut(longId)} is not an id the API takes: Too big`));
        expect
          .soft(messages["lineage-id-long"])
          .toContain(at("lineage[0].universeId", `${cut(longId)} is not an id the API takes`));
        expect
          .soft(messages["head-past-integers"])
          .toContain(
            at(
              "head",
              `${POSITION_MAX + 1} is not a position: Too big: expected number to be <=${POSITION_MAX}`,
            ),
          );
        expect
          .soft(messages["exported-at"])
          .toContain(
            at(
              "exportedAt",
              '"yesterday" is not an ISO time of a real day (such as 2024-05-01T12:00:00.000Z)',
            ),
          );
        expect
          .soft(messages["created-at-day"])
          .toContain(at("universe.createdAt", '"2024-02-30T12:00:00.000Z" is not an ISO time of a real day'));
        expect.soft(messages.audience).toContain(at("audience", '"everyone" is not gm or player:<id>'));
        expect
          .soft(messages.commitment)
          .toContain(at("dice[0].commitment", '"not a commitment" is not a sha256 in hex'));
        expect
          .soft(messages["secret-shape"])
          .toContain(at("dice[0].secret", '"zz" is not a dice secret (32 bytes in lowercase hex)'));
        expect
          .soft(messages["secret-other"])
          .toContain(at("dice[0].secret", "does not match the stretch's commitment"));
      }, 120_000);

      it("a turn, a snapshot or a genesis holding what the API would not take is refused at its line", async () => {
        /** An array inside an array, `depth` deep: past what Loom stores, every reader of it wedged. */
        const nested = (depth: number): unknown => {
          let value: unknown = [];
          for (let i = 1; i < depth; i++) value = [value];
          return value;
        };
        // a player's turn, with its run and character
        const at = full.findIndex(
          (l) => l.type === "turn" && l.runId !== null && l.playerId !== null && l.characterId !== null,
        );
        expect(at).toBeGreaterThan(1);
        const turn = full[at]!;
        const withTurn = (changes: Record<string, unknown>) =>
          full.map((l, i) => (i === at ? { ...l, ...changes } : l));
        const snapshotAt = full.findIndex((l) => l.type === "snapshot" && l.position === SNAPSHOT_EVERY);
        const genesis = full[1]! as Line & { state: { universe: Record<string, unknown> } };
        expect(genesis).toMatchObject({ type: "snapshot", position: 0 });
        const withGenesis = (changes: Record<string, unknown>) => {
          const state = { ...genesis.state, universe: { ...genesis.state.universe, ...changes } };
          // self-consistent: the document hashes to its checksum
          const { checksum } = canonicalWithChecksum(state);
          return full.map((l, i) => (i === 1 ? { ...genesis, checksum, state } : l));
        };
        const longId = "r".repeat(ID_MAX + 1);
        const longName = "n".repeat(NAME_MAX + 1);
        const longPremise = "p".repeat(PREMISE_MAX + 1);
        const messages = await refusals([
          { name: "turn-run-id", lines: withTurn({ runId: longId }) },
          { name: "turn-player-id", lines: withTurn({ playerId: longId }) },
          { name: "turn-character-id", lines: withTurn({ characterId: "no such/id" }) },
          { name: "turn-time", lines: withTurn({ createdAt: "2024-05-01 12:00" }) },
          { name: "turn-day", lines: withTurn({ createdAt: "2024-02-30T12:00:00.000Z" }) },
          { name: "turn-offset", lines: withTurn({ createdAt: "2024-05-01T12:00:00+16:00" }) },
          { name: "turn-past-head", lines: [{ ...full[0]!, head: TURNS - 1 }, ...full.slice(1)] },
          {
            name: "snapshot-time",
            lines: full.map((l, i) =>
              i === snapshotAt ? { ...l, createdAt: "0000-01-01T00:00:00.000Z" } : l,
            ),
          },
          { name: "turn-deep", lines: withTurn({ input: { ...(turn.input as object), deep: nested(200) } }) },
          { name: "genesis-name", lines: withGenesis({ name: longName }) },
          { name: "genesis-premise", lines: withGenesis({ premise: longPremise }) },
        ]);
        const line = `line ${at + 1}: turn at position ${turn.position}`;
        expect
          .soft(messages["turn-run-id"])
          .toContain(`${line}: its runId ${cut(longId)} is not an id the API takes: Too big`);
        expect
          .soft(messages["turn-player-id"])
          .toContain(`${line}: its playerId ${cut(longId)} is not an id the API takes: Too big`);
        expect
          .soft(messages["turn-character-id"])
          .toContain(
            `${line}: its characterId "no such/id" is not a character id the API takes: letters, digits, _ and -`,
          );
        expect
          .soft(messages["turn-time"])
          .toContain(
            `${line}: its createdAt "2024-05-01 12:00" is not an ISO time of a real day (such as 2024-05-01T12:00:00.000Z)`,
          );
        expect
          .soft(messages["turn-day"])
          .toContain(`${line}: its createdAt "2024-02-30T12:00:00.000Z" is not an ISO time of a real day`);
        expect
          .soft(messages["turn-offset"])
          .toContain(
            `${line}: its createdAt at 2024-05-01T12:00:00+16:00, 16:00 from UTC, beyond the 15:59 Postgres takes`,
          );
        expect
          .soft(messages["turn-deep"])
          .toContain(`line ${at + 1}: is nested deeper than 72 levels, which Loom never stores`);
        expect
          .soft(messages["turn-past-head"])
          .toContain(
            `line ${lineOf(full, "turn", TURNS) + 1}: turn at position ${TURNS} is beyond the header's head, ${TURNS - 1}`,
          );
        expect
          .soft(messages["snapshot-time"])
          .toContain(
            `line ${snapshotAt + 1}: snapshot at position ${SNAPSHOT_EVERY}: its createdAt in the year 0, which has no time`,
          );
        expect
          .soft(messages["genesis-name"])
          .toContain(
            `line 2: snapshot at position 0, the genesis: its universe.name ${cut(longName)} is not a universe's name the API takes: Too big: expected string to have <=${NAME_MAX} characters`,
          );
        expect
          .soft(messages["genesis-premise"])
          .toContain(
            `line 2: snapshot at position 0, the genesis: its universe.premise ${cut(longPremise)} is not a premise the API takes: Too big: expected string to have <=${PREMISE_MAX} characters`,
          );
      }, 180_000);

      it("--name is bounded as the API bounds a universe's name, before the file is read", async () => {
        const before = await rows();
        for (const name of [" ".repeat(3), "x".repeat(NAME_MAX + 1)]) {
          const run = await loom([...db(), "import", fullFile, "--name", name]);
          expect.soft(run.code, run.stderr).toBe(2);
          expect
            .soft(run.stderr)
            .toContain(
              `--name must be ${NAME_MIN} to ${NAME_MAX} characters, got ${name.length > 60 ? `"${name.slice(0, 60)}…" (${name.length} characters)` : `"${name}"`}`,
            );
        }
        expect(await rows()).toEqual(before);
      }, 120_000);

      it("--name with a control character or nothing visible is refused in the API's words, not its length", async () => {
        const before = await rows();
        for (const [name, problem, shown] of [
          ["Salt\x1b[2J", "one line without control characters", '"Salt\\u{1b}[2J"'],
          ["two\nlines", "one line without control characters", '"two\\u{a}lines"'],
          ["\u200B\u200B", "at least one visible character", `"\u200B\u200B"`],
        ] as const) {
          const run = await loom([...db(), "import", fullFile, "--name", name]);
          expect.soft(run.code, run.stderr).toBe(2);
          expect.soft(run.stderr).toContain(`--name: ${problem}`);
          expect.soft(run.stderr).toContain(`, got ${shown}`);
          expect.soft(run.stderr).not.toContain("--name must be");
        }
        expect(await rows()).toEqual(before);
      }, 120_000);

      it("a line longer than the cap is refused at its number, without reading it whole", async () => {
        const text = full.map((l) => JSON.stringify(l));
        const long = `{"type":"turn","junk":"${"x".repeat(2 * 2 ** 20)}"}`;
        const messages = await refusals([
          {
            name: "line-cap",
            lines: [...text.slice(0, 3), long, ...text.slice(3)],
            args: ["--max-line-mb", "1"],
          },
          {
            name: "line-cap-env",
            lines: [...text.slice(0, 3), long, ...text.slice(3)],
            env: { LOOM_IMPORT_MAX_LINE_MB: "1.5" },
          },
          // the default: 64 MiB, well above a large world's snapshot; a line with no end at all
          {
            name: "line-default",
            lines: [text[0]!, `{"type":"snapshot","state":"${"y".repeat(65 * 2 ** 20)}`],
          },
        ]);
        expect
          .soft(messages["line-cap"])
          .toContain(
            `line 4: is longer than ${2 ** 20} characters, the most a line may hold (loom import --max-line-mb raises it)`,
          );
        expect.soft(messages["line-cap-env"]).toContain(`line 4: is longer than ${1.5 * 2 ** 20} characters`);
        expect.soft(messages["line-default"]).toContain(`line 2: is longer than ${64 * 2 ** 20} characters`);
      }, 180_000);
    },
  );
}
