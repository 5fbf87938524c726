// Append: turns per second through appendTurns (head check, insert, snapshots, one transaction per
// batch, a snapshot every 100 turns) for a few batch sizes, turns generated beforehand; then the
// search indexer's own rate over the same turns (held back during the appends, so that each
// figure is its own path's; in a server it runs 100 ms behind the appends, on another
// connection). With each rate, the CPU a turn took in this process and in Postgres' backends
// (cpu.ts), which a busy machine disturbs far less than the rate. On Postgres, batches of 2,000
// once more as a server's group commits make them: through the append thread (append-thread.ts),
// the turns cloned to it. Target ≥ 20 000 turns/s on Postgres.
import type { Turn } from "@loom/shared";
import { canonicalJson, checksumOfJson } from "@loom/shared";
import type { EncodedSnapshot } from "../src/persist/turn-store.ts";
import { AppendThread } from "../src/persist/append-thread.ts";
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
    const thread = database.url ? new AppendThread({ databaseUrl: database.url }) : null;
    const runs = [
      ...BATCHES.map((size) => ({ size, name: `batch_${size}`, thread: null, seed: size })),
      // the thread's first batches are the thread's start (its bundle, its code compiled afresh):
      // a server pays that once, so a run before the measured one goes unreported
      ...(thread
        ? [
            { size: 2_000, name: "", thread, seed: 2_001 },
            { size: 2_000, name: "thread_batch_2000", thread, seed: 2_002 },
          ]
        : []),
    ];
    for (const { size, name, thread: through, seed } of runs) {
      const id = freshId("bench-append");
      // a seed of its own per run: the same seed would make the same turn ids
      const campaign = syntheticCampaign({ universeId: id, seed, narrate: true });
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
      for (const batch of batches) {
        if (!through) {
          ({ head } = await database.store.appendTurns(id, { expectedHead: head, ...batch }));
          continue;
        }
        const [outcome] = await through.appendMany([
          { universeId: id, batch: { expectedHead: head, ...batch } },
        ]);
        if (!outcome?.ok) throw new Error(`the append thread refused a batch: ${outcome?.message}`);
        head = outcome.head;
      }
      const seconds = (performance.now() - started) / 1000;
      if (!name) continue;
      const cpu = await meter.read();
      const indexing = performance.now();
      await database.store.settleSearchIndex();
      const indexed = (performance.now() - indexing) / 1000;
      figures[`${name}_turns_per_s`] = Math.round(TURNS / seconds);
      // the thread's commits are not the store's own, so its indexer is not told of them
      if (!through) figures[`${name}_indexed_turns_per_s`] = Math.round(TURNS / indexed);
      figures[`${name}_process_cpu_us_per_turn`] = Math.round((cpu.processUs / TURNS) * 10) / 10;
      if (cpu.postgresUs !== null)
        figures[`${name}_postgres_cpu_us_per_turn`] = Math.round((cpu.postgresUs / TURNS) * 10) / 10;
      process.stderr.write(
        `  ${name.replace(/_/g, " ")}: ${TURNS} turns in ${seconds.toFixed(2)} s` +
          (through ? "\n" : `, their search documents in ${indexed.toFixed(2)} s\n`),
      );
    }
    await thread?.close();
    return { driver: database.driver, turns_per_run: TURNS, ...figures };
  } finally {
    await database.dispose();
  }
}
