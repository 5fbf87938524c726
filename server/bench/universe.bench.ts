// How many turns one universe sustains, and act→turn latency at a moderate rate, through the
// whole pipeline (SDK → room → rules → live store → broadcast; persistence on ticks).
// Embedded unless DATABASE_URL / REDIS_URL are set; embedded runs on disk (PGlite and the
// write-ahead log in a temporary data folder), as `npm start` does.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { startLoomServer } from "../src/app.ts";
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";
import { percentile } from "./fixture.ts";

const PLAYERS = 10;

async function table(url: string) {
  const gm = connect(url);
  await gm.registerPlayer("Bench GM");
  const universe = await gm.createUniverse({ name: "Bench", visibility: "public" });
  const players: Array<{ session: UniverseSession; characterId: string }> = [];
  for (let i = 0; i < PLAYERS; i++) {
    const client = connect(url);
    await client.registerPlayer(`P${i}`);
    const { character, run } = await client.createCharacter(universe.id, {
      name: `Runner ${i}`,
      highConcept: "Courier",
      trouble: "Always late",
      skills: { Athletics: 2 },
    });
    players.push({
      session: await client.joinUniverse(universe.id, { role: "player", runId: run.id }),
      characterId: character.id,
    });
  }
  return players;
}

function command(characterId: string, i: number) {
  return {
    kind: "action" as const,
    action: "overcome" as const,
    characterId,
    skill: "Athletics",
    opposition: 2,
    description: `sprint ${i}`,
  };
}

export default async function universeBench(): Promise<Record<string, unknown>> {
  const port = 2597;
  const config = loadConfig(process.env, {
    port,
    actionsPerSecond: 0,
    dataDir: mkdtempSync(join(tmpdir(), "loom-bench-")),
    inMemory: false,
  });
  const loom = await startLoomServer(config);
  try {
    const players = await table(`http://127.0.0.1:${port}`);

    // 1. saturation: every player keeps 8 commands in flight for 4 s
    const until = Date.now() + 4_000;
    let applied = 0;
    const started = performance.now();
    await Promise.all(
      players.map(async (player) => {
        let i = 0;
        const lane = async () => {
          while (Date.now() < until) {
            const result = await player.session.act(command(player.characterId, i++));
            if (result.ok) applied++;
          }
        };
        await Promise.all(Array.from({ length: 8 }, lane));
      }),
    );
    const turnsPerSecond = applied / ((performance.now() - started) / 1000);
    process.stderr.write(`saturation: ${applied} turns, ${turnsPerSecond.toFixed(0)}/s\n`);

    // 2. latency at 100 actions/s (10 players × 10/s), act → own turn broadcast
    const latencies: number[] = [];
    const rateEnd = Date.now() + 4_000;
    await Promise.all(
      players.map(async (player, p) => {
        let i = 0;
        await new Promise((r) => setTimeout(r, p * 10));
        while (Date.now() < rateEnd) {
          const sent = performance.now();
          const result = await player.session.act(command(player.characterId, i++));
          if (result.ok) latencies.push(performance.now() - sent);
          await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - sent))));
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    for (const player of players) await player.session.leave();
    return {
      mode: config.databaseUrl ? "postgres+redis" : "embedded",
      players: PLAYERS,
      saturation_turns_per_s: Math.round(turnsPerSecond),
      rate_actions_per_s: 100,
      act_to_turn_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
      act_to_turn_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
      samples: latencies.length,
    };
  } finally {
    await loom.shutdown();
  }
}
