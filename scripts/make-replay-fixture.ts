/**
 * Writes a reference export for `loom import --replay`: a game master's JSONL export (full
 * ancestry) of a branch whose timeline holds every command kind the rules decide, with both
 * stretches' dice revealed, so that an import re-executes every turn with its recorded dice.
 *
 *   npx tsx scripts/make-replay-fixture.ts > test/fixtures/replay/reference.v<N>.jsonl
 *
 * The file is written in the export format version of the commit that runs the script; each
 * committed file names its version, and test/export-replay.test.ts imports every one of them. A
 * format change keeps the older files and adds one made on the new commit: reference.v1.jsonl
 * was written on commit 9a7c095 (format 1: no save point lines), reference.v2.jsonl on the commit
 * that brought format 2. Run on a commit of version N, it writes version N; the campaign itself
 * is the same in every version, so each file's head checksum is the same.
 *
 * The campaign: 150 turns played by the rules (shared `playCampaign`: actions, choices, free text,
 * compels, concessions, GM events, scenes, retcons, undos, sessions) and narrated, then scripted
 * turns for what the simulation does not play (world-building, milestones, every action with a
 * target and invokes, a hidden roll, a character joining, a run paused, resumed and ended, an undo
 * of a GM's turn, a retcon with deltas); a branch from there that undoes an inherited turn,
 * retcons and plays on with dice of its own; snapshots every 50 positions; save points of two
 * players. Dice secrets, times and ids all derive from the seed, so every run writes the same file.
 */
import { createHash } from "node:crypto";
import {
  actionCommandSchema,
  commandSchema,
  decide,
  diceCommitment,
  diceFor,
  evolve,
  isRejection,
  systemCommandSchema,
  undoTargetOf,
  checksum,
  type Actor,
  type DecidableCommand,
  type Random,
  type Snapshot,
  type Turn,
  type UniverseState,
} from "@loom/shared";
import { playCampaign, recordTurn, SIMULATED_GM } from "@loom/shared/testing";
import { DrizzleTurnStore } from "../server/src/persist/drizzle-turn-store.ts";
import { openDatabase } from "../server/src/persist/index.ts";
import { SavePoints } from "../server/src/persist/save-points.ts";
import { exportJsonl } from "../server/src/export/index.ts";

const SEED = 20_261_202;
const PARENT = "replay-reference";
const BRANCH = "replay-reference-branch";
const SIMULATED_TURNS = 150;
const SNAPSHOT_EVERY = 50;
const START_MS = Date.parse("2026-02-01T19:00:00.000Z");
const STEP_MS = 45_000;
const GM: Actor = SIMULATED_GM;

const at = (position: number) => new Date(START_MS + (position - 1) * STEP_MS).toISOString();
const secretOf = (universeId: string) => createHash("sha256").update(`${SEED}:${universeId}`).digest("hex");
const keys = (universeId: string) => ({
  universeId,
  secret: secretOf(universeId),
  legacySeed: null,
  legacyThrough: 0,
});
const parentDice = diceFor(keys(PARENT));
const branchDice = diceFor(keys(BRANCH));

/** A timeline played in memory: the turns as the server records them, undo marks included. */
interface Timeline {
  universeId: string;
  state: UniverseState;
  turns: Turn[];
  dice: (position: number) => Random;
}

/** Decides one scripted command at the next position, as the server would, and records it. */
function step(timeline: Timeline, actor: Actor, command: DecidableCommand): Turn {
  const position = timeline.turns.length + 1;
  const decision = decide(timeline.state, command, {
    position,
    now: at(position),
    random: timeline.dice(position),
    actor,
    timeline: timeline.turns,
  });
  if (isRejection(decision))
    throw new Error(`position ${position} (${command.kind}) refused: ${decision.code} ${decision.message}`);
  const turn = recordTurn(decision, {
    universeId: timeline.universeId,
    position,
    actor,
    command,
    createdAt: at(position),
  });
  if (decision.undoes !== undefined) {
    const target = timeline.turns.find((earlier) => earlier.position === decision.undoes)!;
    target.status = "undone";
  }
  timeline.turns.push(turn);
  timeline.state = evolve(timeline.state, decision.deltas);
  return turn;
}

/** Prose as a narrator records it, on most turns (session turns have none). */
function narrated(turn: Turn): Turn {
  if (turn.kind === "session_start" || turn.kind === "session_end" || turn.position % 7 === 0) return turn;
  const said = turn.events.map((event) => event.description.trim()).join(" ");
  return {
    ...turn,
    narration: {
      text: said ? `${said} The tide answers.` : "The tide answers.",
      narrator: "template",
      model: null,
      seed: turn.position,
      promptHash: null,
      tokens: null,
    },
  };
}

const player = (id: string): Actor => ({ kind: "player", playerId: id });
const system = (id: string): Actor => ({ kind: "system", playerId: id });

// the shared past: a campaign played by the rules, its choice of commands and its dice seeded
const played = playCampaign({
  seed: SEED,
  turns: SIMULATED_TURNS,
  universeId: PARENT,
  start: at(1),
  stepMs: STEP_MS,
  dice: parentDice,
});
const parent: Timeline = { universeId: PARENT, state: played.genesis, turns: [], dice: parentDice };
for (const { turn, state } of played.steps) {
  parent.turns.push(turn);
  parent.state = state;
}

// what the simulation does not play, scripted after it
step(parent, GM, {
  kind: "npc",
  op: "add",
  id: "orla",
  name: "Orla the Ferrywoman",
  relationship: "ally",
  gmNotes: "owes the smugglers",
});
step(parent, GM, { kind: "npc", op: "update", id: "orla", notes: "Rows at night" });
step(parent, GM, { kind: "location", op: "add", name: "The Salt Stair", region: "Harbour" });
step(parent, GM, { kind: "faction", op: "update", id: "smugglers", standing: 2 });
step(parent, GM, { kind: "quest", op: "start", id: "bell", title: "Find the drowned bell" });
step(parent, GM, { kind: "quest", op: "advance", id: "bell", details: "The bell rings at low tide" });
step(parent, GM, { kind: "aspect", op: "add", name: "Rising Water", freeInvokes: 1 });
step(parent, GM, {
  kind: "scene",
  title: "The Bell Tower",
  location: null,
  summary: "",
  aspects: ["Slick Stones"],
});
for (const action of actionCommandSchema.shape.action.options)
  step(parent, player("player-1"), {
    kind: "action",
    action,
    characterId: "mara",
    skill: action === "attack" ? "Fight" : "Athletics",
    description: `Mara tries to ${action.replace("_", " ")}`,
    target: action === "attack" ? { type: "npc", id: "brannoc" } : undefined,
    opposition: action === "attack" ? undefined : 2,
    aspectName: action === "create_advantage" ? "Foothold on the Stair" : undefined,
    invokes:
      action === "overcome" ? [{ aspect: "Salt in My Veins", effect: "bonus", payment: "fate_point" }] : [],
    hidden: false,
  });
step(parent, GM, {
  kind: "action",
  action: "overcome",
  characterId: "kell",
  skill: "Notice",
  opposition: 1,
  description: "Kell hears the bell below the water",
  invokes: [],
  hidden: true,
});
step(parent, GM, {
  kind: "compel",
  characterId: "kell",
  aspect: "Trouble Follows Me",
  text: "The wardens recognise Kell",
  accepted: true,
});
step(parent, player("player-2"), { kind: "choice", characterId: "kell", text: "Kell hides in the tower" });
step(parent, player("player-3"), {
  kind: "custom",
  characterId: "ysolde",
  text: "Ysolde hums an old sea song",
});
step(parent, GM, { kind: "milestone", characterId: "mara", level: "major", note: "The bell is found" });
step(parent, GM, {
  kind: "world_event",
  text: "The tower groans",
  major: true,
  deltas: [{ op: "set", path: "/characters/mara/gmNotes", value: "the bell chose her" }],
});
step(parent, GM, { kind: "world_event", text: "A wave breaks over the stair", major: false, deltas: [] });
step(parent, GM, { kind: "undo", targetPosition: parent.turns.length });
step(parent, GM, {
  kind: "retcon",
  note: "The bell was always bronze",
  deltas: [{ op: "set", path: "/canon/summaryRecent", value: "A bronze bell" }],
});
step(parent, system("player-4"), {
  kind: "add_character",
  character: {
    ...played.genesis.characters.mara!,
    id: "wren",
    name: "Wren",
    playerId: "player-4",
    highConcept: "Wren, Lamp-Lighter",
  },
});
step(parent, system("player-4"), { kind: "session_start", characterId: "wren", refresh: true });
step(parent, GM, { kind: "run_pause", characterId: "wren", runId: "run-wren", paused: true });
step(parent, system("player-4"), {
  kind: "run_pause",
  characterId: "wren",
  runId: "run-wren",
  paused: false,
});
step(parent, player("player-4"), { kind: "concede", characterId: "wren" });
step(parent, GM, {
  kind: "run_end",
  characterId: "wren",
  runId: "run-wren",
  outcome: "completed",
  reason: "rowed away",
});
step(parent, system("player-4"), {
  kind: "session_end",
  characterId: "wren",
  summary: "Wren leaves the coast",
  reason: "left",
});

// the branch point: the parent plays on apart from here
const SHARED_TURNS = parent.turns.length;
const atBranch = parent.state;
const shared = parent.turns.map((turn) => ({ ...turn }));
for (let i = 0; i < 3; i++)
  step(parent, GM, { kind: "world_event", text: `The parent's tide, ${i}`, major: false, deltas: [] });

// the branch: the shared past as it stood at the branch point, then turns of its own
const branch: Timeline = { universeId: BRANCH, state: atBranch, turns: shared, dice: branchDice };
const inherited = [...shared]
  .reverse()
  .find((turn) => turn.actor === "gm" && turn.status === "applied" && turn.kind !== "undo");
if (!inherited) throw new Error("no GM turn to undo near the branch point");
step(branch, GM, { kind: "undo", targetPosition: inherited.position });
step(branch, GM, {
  kind: "retcon",
  note: "The fog never lifted here",
  deltas: [{ op: "set", path: "/canon/summaryRecent", value: "Fog, always" }],
});
step(branch, GM, { kind: "scene", title: "Otherwise", location: null, summary: "" });
for (let i = 0; i < 6; i++)
  step(branch, player(`player-${(i % 3) + 1}`), {
    kind: "action",
    action: "overcome",
    characterId: ["mara", "kell", "ysolde"][i % 3]!,
    skill: "Athletics",
    description: `climbs the otherwise stair, ${i}`,
    opposition: 2,
    invokes: [],
    hidden: false,
  });

// every command kind is in the file: a new kind shows up here until the script plays it
const kinds = new Set(
  [...parent.turns, ...branch.turns].map((turn) => (turn.input as { kind: string }).kind),
);
const wanted = [...commandSchema.options, ...systemCommandSchema.options].map(
  (schema) => schema.shape.kind.value,
);
const missing = wanted.filter((kind) => !kinds.has(kind));
if (missing.length > 0) throw new Error(`the fixture plays no ${missing.join(", ")}`);

// the store, with a fixed clock and the seed's dice secrets
const clock = () => new Date(START_MS - 3_600_000);
const database = await openDatabase({ inMemory: true });
const store = new DrizzleTurnStore(database.driver, database.db, () => database.close(), clock);
const savePoints = new SavePoints(database.db, () => new Date(at(parent.turns.length + 1)));

async function setSecret(universeId: string): Promise<void> {
  const secret = secretOf(universeId);
  await database.query(
    `update universes set dice_secret = '${secret}', dice_commitment = '${diceCommitment(secret)}' where id = '${universeId}'`,
  );
}

async function append(timeline: Timeline, from: number, start: UniverseState): Promise<void> {
  const turns = timeline.turns.slice(from).map((turn) => narrated({ ...turn }));
  const snapshots: Snapshot[] = [];
  let state = start;
  for (const turn of turns) {
    state = evolve(state, turn.deltas);
    if (turn.position % SNAPSHOT_EVERY === 0 || turn.position === timeline.turns.length)
      snapshots.push({
        universeId: timeline.universeId,
        position: turn.position,
        state,
        checksum: checksum(state),
        reason: "interval_turns",
        createdAt: turn.createdAt,
      });
  }
  await store.appendTurns(timeline.universeId, {
    expectedHead: from,
    // applied as recorded, then marked undone by the batch's undo turns, as the server appends
    turns: turns.map((turn) => ({ ...turn, status: "applied" })),
    snapshots,
    undone: turns.map(undoTargetOf).filter((target): target is number => target !== null),
  });
}

for (const [id, name] of [
  ["gm-1", "The Keeper"],
  ["player-1", "Alex"],
  ["player-2", "Sam"],
  ["player-3", "Jo"],
  ["player-4", "Ren"],
] as const)
  await store.createPlayer({ id, name });
await store.createUniverse({ id: PARENT, name: "The Drowned Bell", createdBy: "gm-1" }, played.genesis);
await setSecret(PARENT);
await append(parent, 0, played.genesis);
await store.branchUniverse({
  id: BRANCH,
  parentId: PARENT,
  position: SHARED_TURNS,
  name: "The Drowned Bell, otherwise",
  createdBy: "gm-1",
});
await setSecret(BRANCH);
await append(branch, SHARED_TURNS, atBranch);
await store.revealDice(PARENT);
await store.revealDice(BRANCH);
const latestOf = (playerId: string) =>
  Math.max(...branch.turns.filter((turn) => turn.playerId === playerId).map((turn) => turn.position));
await savePoints.nameSavePoint(
  {
    universeId: BRANCH,
    playerId: "player-1",
    name: "On the otherwise stair",
    position: latestOf("player-1"),
  },
  100,
);
await savePoints.nameSavePoint(
  {
    universeId: BRANCH,
    playerId: "player-2",
    name: "Kell's last climb",
    position: latestOf("player-2"),
  },
  100,
);

const exported = exportJsonl({ turnStore: store, savePoints }, BRANCH, {
  audience: { kind: "gm" },
  ancestry: "full",
  now: clock,
});
for await (const chunk of exported) process.stdout.write(chunk);
const count = (kind: string) => branch.turns.filter((turn) => turn.kind === kind).length;
process.stderr.write(
  `${branch.turns.length} turns (${SHARED_TURNS} shared, parent plays ${parent.turns.length - SHARED_TURNS} more apart), ` +
    `${count("undo")} undos, ${count("retcon")} retcons, command kinds: ${[...kinds].sort().join(" ")}\n`,
);
await store.close();
