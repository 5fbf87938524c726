import { randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { createStores } from "../server/src/persist/index.ts";
import { TELLING_TEXT_MAX } from "../server/src/export/turn-input.ts";
import { loom, spawnLoom } from "./support/cli.ts";
import { tempDir } from "./support/server.ts";
import { appendPlayed } from "./support/timeline.ts";

/**
 * A campaign file is held to what the API would have taken: a turn's input is a command the
 * server's schemas take, with only what the server adds to it (its client's key and sequence
 * number); its texts within their bounds; who acted a player or game master with an id, a
 * player's turn never hidden; the turn played in the universe the file is of; the header's name
 * one the API gives a universe. A forged file is refused at its line, exit 1, nothing written.
 * What is no regular file (a named pipe) is refused before it is opened, where no signal would
 * stop the command; a file opening with a byte order mark is told so.
 * On the embedded database: what is refused does not depend on the store.
 */
type Line = Record<string, unknown> & { type: string; position?: number };

const TURNS = 120;

describe("loom import refuses a forged turn or header at its line, leaving nothing", () => {
  const tag = randomUUID().slice(0, 8);
  const gm = `gm-${tag}`;
  const mara = `mara-${tag}`;
  const universeId = `forgeries-${tag}`;
  const work = tempDir("loom-import-forgeries-");
  const dataDir = tempDir("loom-import-forgeries-data-");
  const db = ["--data-dir", dataDir];
  const prefix = `forged ${tag}`;
  let full: Line[];

  /** How many universes the attempts left, found by the name each was given. */
  async function left(): Promise<number> {
    const stores = await createStores({ dataDir: `${dataDir}/pglite` });
    try {
      const universes = await stores.turnStore.listUniverses();
      return universes.filter((u) => u.name.startsWith(prefix)).length;
    } finally {
      await stores.turnStore.close();
    }
  }

  /** Imports each attempt's lines; every one is refused (exit 1) with its message, nothing left. */
  async function refusals(attempts: Array<{ name: string; lines: Array<Line | string> }>) {
    const messages: Record<string, string> = {};
    for (const attempt of attempts) {
      const file = join(work, `${attempt.name}.jsonl`);
      writeFileSync(
        file,
        `${attempt.lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`,
      );
      const run = await loom([...db, "import", file, "--name", `${prefix} ${attempt.name}`], {
        LOOM_PGLITE_WORKER: "0",
      });
      expect.soft(run.code, `${attempt.name}: ${run.stdout}${run.stderr}`).toBe(1);
      expect.soft(run.stderr, attempt.name).toContain(`refused ${file}: `);
      messages[attempt.name] = run.stderr;
    }
    expect(await left()).toBe(0);
    return messages;
  }

  beforeAll(async () => {
    const stores = await createStores({ dataDir: `${dataDir}/pglite` });
    try {
      for (const [id, name] of [
        [gm, "Game Master"],
        [mara, "Mara"],
      ] as const)
        await stores.accountStore.createAccount({
          id,
          name,
          login: null,
          passwordHash: null,
          createdAt: new Date(),
        });
      const campaign = simulateCampaign({ seed: 7_117, turns: TURNS, universeId });
      await stores.turnStore.createUniverse(
        { id: universeId, name: "The Salt Road", createdBy: gm },
        campaign.genesis,
      );
      await appendPlayed(stores.turnStore, universeId, campaign.genesis, campaign.turns, {
        from: 0,
        snapshotEvery: 50,
      });
    } finally {
      await stores.turnStore.close();
    }
    const file = join(work, "full.jsonl");
    expect((await loom([...db, "export", universeId, "--out", file])).code).toBe(0);
    full = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
  }, 120_000);

  /** The first player's action of the file, by its line, and the lines with it changed. */
  function playerAction() {
    const at = full.findIndex(
      (l) => l.type === "turn" && l.actor === "player" && l.kind === "action" && l.playerId !== null,
    );
    expect(at).toBeGreaterThan(1);
    const turn = full[at]! as Line & {
      input: Record<string, unknown>;
      events: Array<Record<string, unknown>>;
    };
    const withTurn = (changes: Record<string, unknown>) =>
      full.map((l, i) => (i === at ? { ...l, ...changes } : l));
    const withInput = (changes: Record<string, unknown>) =>
      withTurn({ input: { ...turn.input, ...changes } });
    return { line: at + 1, turn, withTurn, withInput };
  }

  it("the file as exported imports", async () => {
    const run = await loom([...db, "import", join(work, "full.jsonl"), "--name", `copy ${tag}`]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  }, 60_000);

  it("a turn whose input, texts, actor or universe the API would not have taken is refused at its line", async () => {
    const { line, turn, withTurn, withInput } = playerAction();
    const at = `line ${line}: turn at position ${turn.position}: `;
    const ghost = "ghost-1";
    const telling = {
      text: "A".repeat(TELLING_TEXT_MAX + 1),
      narrator: "template",
      model: null,
      seed: null,
      promptHash: null,
      tokens: null,
    };
    const messages = await refusals([
      { name: "narration-long", lines: withTurn({ narration: telling }) },
      { name: "description-huge", lines: withInput({ description: "B".repeat(2 ** 20) }) },
      { name: "description-2001", lines: withInput({ description: "D".repeat(LIMITS.textMax + 1) }) },
      { name: "unknown-kind", lines: withTurn({ input: { kind: "make_me_admin", role: "gm" } }) },
      { name: "extra-member", lines: withInput({ role: "gm" }) },
      { name: "other-character", lines: withInput({ characterId: ghost }) },
      {
        name: "no-character",
        lines: withTurn({ characterId: ghost, input: { ...turn.input, characterId: ghost } }),
      },
      {
        name: "hidden-event",
        lines: withTurn({
          events: [{ type: "gm_note", description: "forged secret", major: true, hidden: true, data: {} }],
        }),
      },
      { name: "gm-nobody", lines: withTurn({ actor: "gm", playerId: null }) },
      { name: "other-universe", lines: withTurn({ universeId: "00000000-0000-4000-8000-000000000000" }) },
    ]);
    expect
      .soft(messages["narration-long"])
      .toContain(
        `${at}its narration text is ${TELLING_TEXT_MAX + 1} characters long, past the ${TELLING_TEXT_MAX} a telling holds`,
      );
    expect
      .soft(messages["description-huge"])
      .toContain(
        `${at}its input.description is ${2 ** 20} characters long, past the 8000 any text of a command holds`,
      );
    expect
      .soft(messages["description-2001"])
      .toContain(
        `${at}its input.description "${"D".repeat(40)}"… (2001 characters) is not what the API takes: Too big: expected string to have <=2000 characters`,
      );
    expect
      .soft(messages["unknown-kind"])
      .toContain(`${at}its input.kind "make_me_admin" is no command Loom knows`);
    expect
      .soft(messages["extra-member"])
      .toContain(`${at}its input.role is no member of the "action" command`);
    expect
      .soft(messages["other-character"])
      .toContain(`${at}its input names character "${ghost}", the turn is of "${turn.characterId as string}"`);
    expect
      .soft(messages["no-character"])
      .toContain(`${at}its input names character "${ghost}", which the universe does not have before it`);
    expect
      .soft(messages["hidden-event"])
      .toContain(
        `${at}a player's turn is hidden (a hidden roll or event), which only a game master's turns are`,
      );
    expect
      .soft(messages["gm-nobody"])
      .toContain(`${at}a game master's turn names no player (its playerId is null)`);
    expect
      .soft(messages["other-universe"])
      .toContain(
        `${at}its universeId "00000000-0000-4000-8000-000000000000" is not the file's universe, ${universeId}`,
      );
  }, 180_000);

  it("a header name the API refuses, or a byte order mark, is refused at line 1", async () => {
    const header = full[0]! as Line & { universe: Record<string, unknown> };
    const messages = await refusals([
      {
        name: "bidi-name",
        lines: [{ ...header, universe: { ...header.universe, name: "X\u202e evil" } }, ...full.slice(1)],
      },
      { name: "bom", lines: [`\ufeff${JSON.stringify(header)}`, ...full.slice(1)] },
    ]);
    expect
      .soft(messages["bidi-name"])
      .toContain(
        `line 1: the header's universe.name "X\\u{202e} evil" is not a universe's name the API takes: one line without control characters or bidirectional overrides`,
      );
    expect
      .soft(messages.bom)
      .toContain(
        "line 1: starts with a byte order mark (U+FEFF), which no export writes: save the file as UTF-8 without one",
      );
  }, 60_000);

  it("a named pipe is refused before it is opened, and the command ends", async () => {
    const fifo = join(work, "pipe.jsonl");
    execFileSync("mkfifo", [fifo]);
    const run = spawnLoom(["--data-dir", dataDir, "import", fifo]);
    // opened, a pipe nobody writes to would hold the command in a thread no signal reaches
    const timer = setTimeout(() => run.child.kill("SIGKILL"), 20_000);
    const code = await run.exited;
    clearTimeout(timer);
    expect(run.stderr()).toContain(`${fifo} is not a regular file (a named pipe); name a JSONL export file`);
    expect(code).toBe(2);
  }, 30_000);
});
