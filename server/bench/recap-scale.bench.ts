// Recap at scale: the recap a fresh run gets ("while you were away" since the universe began)
// in a universe of 10,000 turns and in one of 1,000,000, through the turn store. The turns are
// written by one bulk INSERT … generate_series per 100,000 (one character in seven of them
// major, twenty characters taking turns), then analysed. Figures: recapFor's p50/p99 over 30
// builds, in ms, and for contrast at 10,000 turns the read of every turn since the start that
// the recap used to do. On Postgres when DATABASE_URL is set (its own database, dropped
// afterwards), else PGlite. Not part of `npm test`.
import { emptyState, type UniverseState } from "@loom/shared";
import { characterFixture } from "../../shared/src/continuity/fixtures.ts";
import { recapFor } from "../src/universe/continuity.ts";
import type { RunRecord } from "../src/persist/turn-store.ts";
import { openBenchDatabase, percentile, type BenchDatabase } from "./fixture.ts";

const SIZES = [10_000, 1_000_000];
const CHUNK = 100_000;
const BUILDS = 30;
const WARMUP = 5;

/** A universe of `turns` turns with a player whose run has just begun. */
async function universeOf(
  database: BenchDatabase,
  turns: number,
): Promise<{ run: RunRecord; state: UniverseState }> {
  const { store } = database;
  const id = `recap-scale-${turns}`;
  const state = emptyState("Recap at scale");
  for (let i = 0; i < 20; i++) state.characters[`pc${i}`] = characterFixture(`pc${i}`, `Wanderer ${i}`);
  state.characters.newcomer = characterFixture("newcomer", "Newcomer", "newcomer-player");
  await store.createUniverse({ id, name: state.universe.name, createdBy: "bench" }, state);
  await store.createPlayer({ id: "newcomer-player", name: "Newcomer" }).catch(() => undefined);
  await store.createCharacter({
    id: `newcomer-${turns}`,
    playerId: "newcomer-player",
    universeId: id,
    name: "Newcomer",
    sheet: {},
  });
  const run = await store.createRun({
    id: `run-${turns}`,
    playerId: "newcomer-player",
    characterId: `newcomer-${turns}`,
    universeId: id,
    therapeuticFocus: null,
  });
  const started = performance.now();
  for (let from = 1; from <= turns; from += CHUNK) {
    const to = Math.min(turns, from + CHUNK - 1);
    await database.query(`
      insert into turns (universe_id, position, created_at, actor, kind, status, id, run_id,
        character_id, player_id, input, resolution, events, deltas, narration)
      select '${id}', g, now(), 'player', 'custom', 'applied', '${id}-' || g, null,
        'pc' || (g % 20), 'player-' || (g % 20),
        jsonb_build_object('kind', 'custom', 'characterId', 'pc' || (g % 20), 'text', 'Wanderer ' || (g % 20) || ' tries something at turn ' || g),
        null,
        jsonb_build_array(jsonb_build_object('type', 'custom', 'description', 'Something changes in the marsh at turn ' || g,
          'major', g % 7 = 0, 'hidden', false, 'data', '{}'::jsonb)),
        '[]'::jsonb, null
      from generate_series(${from}, ${to}) g`);
    process.stderr.write(`  ${id}: ${to} turns in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  await database.query(`update universes set head_position = ${turns} where id = '${id}'`);
  await database.query("analyze turns");
  return { run, state };
}

async function timed(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  const timings: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    timings.push(performance.now() - started);
  }
  return timings.sort((a, b) => a - b);
}

export default async function recapScale(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase("loom_bench_recap_scale");
  try {
    const figures: Record<string, unknown> = { driver: database.driver };
    for (const turns of SIZES) {
      const { run, state } = await universeOf(database, turns);
      const build = () => recapFor(database.store, null, run, state, turns);
      await timed(WARMUP, build);
      const timings = await timed(BUILDS, build);
      const recap = await build();
      const label = turns >= 1_000_000 ? `${turns / 1_000_000}m` : `${turns / 1_000}k`;
      figures[`p50_ms_${label}`] = percentile(timings, 50);
      figures[`p99_ms_${label}`] = percentile(timings, 99);
      figures[`away_shown_${label}`] = recap.whileYouWereAway.length;
      figures[`away_counted_${label}`] = recap.whileYouWereAway.length + recap.omitted.whileYouWereAway;
      if (turns === SIZES[0]) {
        const everyTurn = await timed(5, () => database.store.turnsBetween(run.universeId, 0, turns));
        figures[`read_every_turn_p50_ms_${label}`] = percentile(everyTurn, 50);
      }
    }
    return figures;
  } finally {
    await database.dispose();
  }
}
