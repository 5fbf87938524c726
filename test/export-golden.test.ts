import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checksum,
  decide,
  evolve,
  isRejection,
  seededDice,
  undoTargetOf,
  type DecidableCommand,
  type Narration,
  type Snapshot,
  type Turn,
  type UniverseState,
} from "@loom/shared";
import { recordTurn, simulateCampaign, SIMULATED_GM } from "@loom/shared/testing";
import { createStores, type Stores } from "../server/src/persist/index.ts";
import { exportUniverse, type ExportFormat } from "../server/src/export/index.ts";
import type { Audience } from "../server/src/export/format.ts";

/**
 * The Markdown story of a fixed campaign, compared with reviewed files in test/fixtures/golden/:
 * the game master's and one player's. A change to the story's form shows here as a diff to review;
 * `LOOM_UPDATE_GOLDEN=1` writes the files anew (then read them before committing).
 *
 * The campaign: 60 turns played by the rules (seeded: actions, choices, GM events, scenes,
 * compels, an undo, a retcon, sessions), narrated, then three of the game master's secrets — a GM
 * note on Mara, a private note for Kell, a hidden roll — and one more narrated turn; a save point
 * of Mara's player and one of Kell's, which only the game master and Kell's player may see.
 */
const GOLDEN = resolve(import.meta.dirname, "fixtures/golden");
const UPDATE = process.env.LOOM_UPDATE_GOLDEN === "1";
const UNIVERSE = "golden-tide";
/** A seed whose 60 turns hold every form the story has: invokes, compels, attacks, an undo, a retcon. */
const SEED = 34;
const GM_NOTE = "gm-note-the-ferryman-lies";
const KELL_PRIVATE = "kell-private-hides-the-key";
const HIDDEN = "hidden-roll-under-the-pier";
const ALEX_SAVE = "Before the fog lifts";
const SAM_SAVE = "sam-save-behind-the-nets";

function narrated(turn: Turn): Turn {
  if (turn.kind === "session_start" || turn.kind === "session_end" || turn.kind === "undo") return turn;
  // prose as a narrator would write it: the events, told as sentences, and a line of colour
  const said = turn.events
    .map((event) => event.description.trim())
    .map((text) => (/[.!?"]$/.test(text) ? text : `${text}.`))
    .join(" ");
  const colour = ["Gulls wheel overhead.", "The fog presses close.", "Somewhere a bell tolls."][
    turn.position % 3
  ];
  const narration: Narration = {
    text: said ? `${said} ${colour}` : colour!,
    narrator: "template",
    model: null,
    seed: turn.position,
    promptHash: null,
    tokens: null,
  };
  return { ...turn, narration };
}

/** Decides a command after the simulated campaign, as the game master. */
function gmTurn(state: UniverseState, position: number, command: DecidableCommand, timeline: Turn[]): Turn {
  const decision = decide(state, command, {
    position,
    now: new Date(Date.parse("2026-01-02T20:00:00.000Z") + position * 1000).toISOString(),
    random: seededDice(SEED)(position),
    actor: SIMULATED_GM,
    timeline,
  });
  if (isRejection(decision)) throw new Error(`${command.kind} refused: ${decision.message}`);
  return recordTurn(decision, {
    universeId: UNIVERSE,
    position,
    actor: SIMULATED_GM,
    command,
    createdAt: new Date(Date.parse("2026-01-02T20:00:00.000Z") + position * 1000).toISOString(),
  });
}

async function collect(stores: Stores, format: ExportFormat, audience: Audience): Promise<string> {
  let text = "";
  for await (const chunk of exportUniverse(stores, UNIVERSE, { format, audience })) text += chunk;
  return text;
}

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE) throw new Error(`${path} is missing: run with LOOM_UPDATE_GOLDEN=1, then review it`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("the Markdown story of a fixed campaign", () => {
  let stores: Stores;

  beforeAll(async () => {
    stores = await createStores({ inMemory: true });
    const played = simulateCampaign({ seed: SEED, turns: 60, universeId: UNIVERSE, stepMs: 90_000 });
    await stores.turnStore.createUniverse(
      { id: UNIVERSE, name: "The Drowned Coast", createdBy: "gm-1" },
      played.genesis,
    );
    await stores.turnStore.createPlayer({ id: "player-1", name: "Alex" });
    await stores.turnStore.createPlayer({ id: "player-2", name: "Sam" });
    await stores.turnStore.createCharacter({
      id: "mara",
      playerId: "player-1",
      universeId: UNIVERSE,
      name: "Mara",
      sheet: {},
    });
    await stores.turnStore.createRun({
      id: "run-mara",
      playerId: "player-1",
      characterId: "mara",
      universeId: UNIVERSE,
      therapeuticFocus: null,
    });
    let state = played.genesis;
    for (const turn of played.turns) state = evolve(state, turn.deltas);
    const secrets: Turn[] = [];
    const next = (command: DecidableCommand) => {
      const turn = gmTurn(state, played.turns.length + secrets.length + 1, command, [
        ...played.turns,
        ...secrets,
      ]);
      state = evolve(state, turn.deltas);
      if (turn.kind === "undo") {
        const target = secrets.find((t) => t.position === undoTargetOf(turn));
        if (target) target.status = "undone";
      }
      secrets.push(turn);
    };
    next({
      kind: "world_event",
      text: "A stranger watches Mara from the dunes",
      major: true,
      deltas: [{ op: "set", path: "/characters/mara/gmNotes", value: GM_NOTE }],
    });
    next({
      kind: "world_event",
      text: "Kell remembers something",
      major: false,
      deltas: [{ op: "set", path: "/characters/kell/private/notes", value: KELL_PRIVATE }],
    });
    next({
      kind: "action",
      action: "overcome",
      characterId: "kell",
      skill: "Notice",
      opposition: 1,
      description: `the ${HIDDEN}`,
      invokes: [],
      hidden: true,
    });
    next({ kind: "world_event", text: "The ferry's sails turn black", major: false, deltas: [] });
    next({ kind: "undo", targetPosition: played.turns.length + secrets.length });
    next({
      kind: "retcon",
      note: "The ferry's sails were always grey; the black was a trick of the fog",
      deltas: [],
    });
    next({ kind: "world_event", text: "Night falls on the drowned coast", major: false, deltas: [] });
    const turns = [...played.turns, ...secrets].map((turn) => narrated({ ...turn, status: "applied" }));
    const snapshots: Snapshot[] = [];
    let replayed = played.genesis;
    for (const turn of turns) {
      replayed = evolve(replayed, turn.deltas);
      if (turn.position % 25 === 0)
        snapshots.push({
          universeId: UNIVERSE,
          position: turn.position,
          state: replayed,
          checksum: checksum(replayed),
          reason: "interval_turns",
          createdAt: turn.createdAt,
        });
    }
    await stores.turnStore.appendTurns(UNIVERSE, {
      expectedHead: 0,
      turns,
      snapshots,
      undone: turns.map(undoTargetOf).filter((target): target is number => target !== null),
    });
    const latest = (playerId: string) =>
      Math.max(...turns.filter((turn) => turn.playerId === playerId).map((turn) => turn.position));
    await stores.savePoints.nameSavePoint(
      {
        universeId: UNIVERSE,
        playerId: "player-1",
        name: ALEX_SAVE,
        position: latest("player-1"),
      },
      100,
    );
    await stores.savePoints.nameSavePoint(
      {
        universeId: UNIVERSE,
        playerId: "player-2",
        name: SAM_SAVE,
        position: latest("player-2"),
      },
      100,
    );
  }, 60_000);

  afterAll(async () => {
    await stores?.turnStore.close();
  });

  it("the game master's story matches the reviewed file", async () => {
    const story = await collect(stores, "markdown", { kind: "gm" });
    // what the file must show, whatever its wording
    expect(story).toMatch(/^# The Drowned Coast\n/);
    expect(story).toContain("## Cast");
    expect(story).toMatch(/## Chapter 1\n/);
    expect(story).toMatch(/\*\(undone\)\*/);
    expect(story).toMatch(/> \*\*Retcon\*\* \(turn \d+\)/);
    expect(story).toMatch(/\[\^1\]: /);
    expect(story).toContain(HIDDEN);
    expect(story).toContain(`*Save point “${ALEX_SAVE}”, named by Alex at turn `);
    expect(story).toContain(`*Save point “${SAM_SAVE}”, named by Sam at turn `);
    golden("drowned-coast.gm.md", story);
  });

  it("a player's story matches its reviewed file and holds nothing of the GM's or of another player's", async () => {
    const audience: Audience = { kind: "player", playerId: "player-1" };
    const story = await collect(stores, "markdown", audience);
    const jsonl = await collect(stores, "jsonl", audience);
    for (const text of [story, jsonl]) {
      expect(text).not.toContain(GM_NOTE);
      expect(text).not.toContain(KELL_PRIVATE);
      expect(text).not.toContain(HIDDEN);
      expect(text).not.toContain(SAM_SAVE);
      expect(text).toContain(ALEX_SAVE);
    }
    expect(jsonl.split("\n").filter((line) => line.startsWith('{"type":"snapshot"'))).toEqual([]);
    // the GM's JSONL has all three: the player's lacks them because they were taken out
    const full = await collect(stores, "jsonl", { kind: "gm" });
    for (const secret of [GM_NOTE, KELL_PRIVATE, HIDDEN, SAM_SAVE]) expect(full).toContain(secret);
    golden("drowned-coast.player-1.md", story);
  });
});
