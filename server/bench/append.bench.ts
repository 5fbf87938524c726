// Append: turns per second through appendTurns (head check, insert, snapshots, one transaction per
// batch, a snapshot every 100 turns) for a few batch sizes, turns generated beforehand; then the
// search indexer's own rate over the same turns (held back during the appends, so that each
// figure is its own path's; in a server it runs 100 ms behind the appends, on another
// connection). With each rate, the CPU a turn took in this process and in Postgres' backends
// (cpu.ts), which a busy machine disturbs far less than the rate. Target ≥ 20 000 turns/s on
// Postgres.
import type { Turn } from "@loom/shared";
import { canonicalJson, checksumOfJson } from "@loom/shared";
import type { EncodedSnapshot } from "../src/persist/turn-store.ts";
import { cpuMeter } from "./cpu.ts";
import { openBenchDatabase } from "./fixture.ts";
import { freshId } from "../src/persist/testing/build.ts";
import { syntheticCampaign } from "../src/persist/testing/campaign.ts";

const TURNS = 20_000;
const BATCHES = [100, 500, 2_000];

export default async function append(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase(undefined, { delayMs: 3_600_000 });
  try {
    const figures: Record<string, number> = {};
    for (const size of BATCHES) {
      const id = freshId("bench-append");
      const campaign = syntheticCampaign({ universeId: id, seed: size, narrate: true });
      await database.store.createUniverse({ id, name: "Append", createdBy: "bench" }, campaign.genesis);
      const batches: Array<{ turns: Turn[]; snapshots: EncodedSnapshot[] }> = [];
      for (let head = 0; head < TURNS; head += size) {
        const turns: Turn[] = [];
        const snapshots: EncodedSnapshot[] = [];
        for (let i = 0; i < size; i++) {
          const turn = campaign.next();
          turns.push(turn);
          if (turn.position % 100 === 0) {
            // as the server sends them: the canonical text its checksum was taken of
            const stateJson = canonicalJson(campaign.state);
            snapshots.push({
              universeId: id,
              position: turn.position,
              stateJson,
              checksum: checksumOfJson(stateJson),
              reason: "interval_turns",
              createdAt: turn.createdAt,
            });
          }
        }
        batches.push({ turns, snapshots });
      }
      const meter = await cpuMeter(database);
      const started = performance.now();
      let head = 0;
      for (const batch of batches)
        ({ head } = await database.store.appendTurns(id, { expectedHead: head, ...batch }));
      const seconds = (performance.now() - started) / 1000;
      const cpu = await meter.read();
      const indexing = performance.now();
      await database.store.settleSearchIndex();
      const indexed = (performance.now() - indexing) / 1000;
      figures[`batch_${size}_turns_per_s`] = Math.round(TURNS / seconds);
      figures[`batch_${size}_indexed_turns_per_s`] = Math.round(TURNS / indexed);
      figures[`batch_${size}_process_cpu_us_per_turn`] = Math.round((cpu.processUs / TURNS) * 10) / 10;
      if (cpu.postgresUs !== null)
        figures[`batch_${size}_postgres_cpu_us_per_turn`] = Math.round((cpu.postgresUs / TURNS) * 10) / 10;
      process.stderr.write(
        `  batch ${size}: ${TURNS} turns in ${seconds.toFixed(2)} s, their search documents in ${indexed.toFixed(2)} s\n`,
      );
    }
    return { driver: database.driver, turns_per_run: TURNS, ...figures };
  } finally {
    await database.dispose();
  }
}
