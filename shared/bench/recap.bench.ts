// Builds the recap a player gets on joining: a run of 10,000 turns in a universe of 100,000,
// with inputs as the server fetches them (the run's turns, and the other characters' turns since
// the run's previous session end). Two absences: a short one (2,000 turns of others since) and a
// long one (half the universe's history since). Figures are buildRecap + recapBytes, in ms.
import {
  characterFixture,
  npcFixture,
  questFixture,
  saltMarches,
  turnFixture,
} from "../src/continuity/fixtures.ts";
import { buildRecap, recapBytes, type RecapInput } from "../src/continuity/index.ts";
import { bucketOf } from "../src/buckets.ts";
import type { Relationship } from "../src/state.ts";
import type { Turn } from "../src/turn.ts";
import { percentile, round } from "./timing.ts";

const UNIVERSE_TURNS = 100_000;
const RUN_EVERY = 10; // Mara takes every tenth turn: 10,000 of them.
const BUILDS = 200;
const WARMUP = 20;

function universe(): { turns: Turn[]; state: RecapInput["state"] } {
  const state = saltMarches();
  for (let i = 0; i < 20; i++) state.characters[`pc${i}`] = characterFixture(`pc${i}`, `Wanderer ${i}`);
  for (let i = 0; i < 500; i++) {
    const attitudes: Record<string, Relationship> =
      i % 3 === 0 ? { mara: "friendly", pc1: "wary" } : { pc2: "ally" };
    state.world.npcBuckets[bucketOf(`npc${i}`)]![`npc${i}`] = npcFixture(
      `npc${i}`,
      `Marsh dweller ${i}`,
      attitudes,
      (i * 197) % UNIVERSE_TURNS,
    );
  }
  for (let i = 0; i < 100; i++) {
    state.questBuckets[bucketOf(`q${i}`)]![`q${i}`] = questFixture(
      `q${i}`,
      `Errand ${i}`,
      i % 4 === 0 ? "resolved" : "active",
      i * 900,
    );
  }
  for (let i = 1; i <= 50; i++)
    state.canon.retconNotes.push({ position: i * 1_999, note: `Correction number ${i}.` });
  state.canon.summaryRecent = "Mara crossed the salt flats and bargained with the Tide Court. "
    .repeat(30)
    .trim();
  const turns: Turn[] = [];
  for (let position = 1; position <= UNIVERSE_TURNS; position++) {
    const mine = position % RUN_EVERY === 0;
    const characterId = mine ? "mara" : position % 13 === 0 ? null : `pc${position % 20}`;
    turns.push(
      turnFixture({
        position,
        characterId,
        text: `${characterId ?? "The world"} does something memorable at turn ${position}, and the marsh remembers it.`,
        major: position % 7 === 0,
        hidden: position % 50 === 0,
        status: position % 100 === 1 ? "undone" : "applied",
      }),
    );
  }
  return { turns, state };
}

function measure(input: RecapInput): { p50Ms: number; p99Ms: number; maxMs: number; bytes: number } {
  let bytes = 0;
  for (let i = 0; i < WARMUP; i++) bytes = recapBytes(buildRecap(input)).length;
  const latencies: number[] = [];
  for (let i = 0; i < BUILDS; i++) {
    const start = performance.now();
    bytes = recapBytes(buildRecap(input)).length;
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies.at(-1)!),
    bytes,
  };
}

export default async function recap(): Promise<Record<string, unknown>> {
  console.error(`recap: synthesising a universe of ${UNIVERSE_TURNS} turns`);
  const { turns, state } = universe();
  const runTurns = turns.filter((turn) => turn.characterId === "mara");
  const others = (since: number) =>
    turns.filter((turn) => turn.position > since && turn.characterId !== "mara");
  const base = {
    state,
    characterId: "mara",
    runTurns,
    previousSummary: state.canon.summaryRecent,
    head: UNIVERSE_TURNS,
  };

  const shortSince = UNIVERSE_TURNS - 2_000;
  const longSince = UNIVERSE_TURNS / 2;
  console.error(`recap: ${BUILDS} builds after a short absence, then ${BUILDS} after a long one`);
  const short = measure({ ...base, othersSince: others(shortSince), previousSessionEnd: shortSince });
  const long = measure({ ...base, othersSince: others(longSince), previousSessionEnd: longSince });
  const check = recapBytes(
    buildRecap({ ...base, othersSince: others(shortSince), previousSessionEnd: shortSince }),
  );
  if (
    recapBytes(buildRecap({ ...base, othersSince: others(shortSince), previousSessionEnd: shortSince })) !==
    check
  ) {
    throw new Error("two builds of the same recap differ");
  }
  return {
    universeTurns: UNIVERSE_TURNS,
    runTurns: runTurns.length,
    builds: BUILDS,
    shortAbsenceOthers: others(shortSince).length,
    shortP50Ms: short.p50Ms,
    shortP99Ms: short.p99Ms,
    longAbsenceOthers: others(longSince).length,
    longP50Ms: long.p50Ms,
    longP99Ms: long.p99Ms,
    longMaxMs: long.maxMs,
    recapBytes: short.bytes,
    targetMs: 10,
  };
}
