// Builds the narration prompt of a campaign played by the rules as it grows (1,000 to 100,000
// turns; its canon from about 130 to 5,200 facts), for the table and for game masters, as a
// narrated universe does at every turn: the same state told again, its canon's buckets read before.
// Figures are buildNarrationPrompt's time in ms, p50 and p90 of BUILDS builds at each size.
import { playCampaign } from "../src/testing/campaign.ts";
import { buildNarrationPrompt } from "../src/narration/context.ts";
import { GAME_MASTER, SPECTATOR } from "../src/visibility.ts";
import type { Turn } from "../src/turn.ts";
import { percentile, round } from "./timing.ts";

const SIZES = [1_000, 10_000, 100_000];
const BUILDS = 300;

export default function narrationPrompt(): Record<string, unknown> {
  const figures: Record<string, unknown> = {};
  const { steps } = playCampaign({ seed: 7, turns: SIZES.at(-1)! });
  const recent: Turn[] = [];
  for (const { turn, state } of steps) {
    recent.push(turn);
    if (recent.length > 9) recent.shift();
    if (!SIZES.includes(turn.position)) continue;
    const facts = Object.values(state.canon.factBuckets).reduce(
      (n, bucket) => n + Object.keys(bucket ?? {}).length,
      0,
    );
    const at: Record<string, unknown> = { facts };
    for (const [name, audience] of [
      ["table", SPECTATOR],
      ["gm", GAME_MASTER],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < BUILDS; i++) {
        const started = performance.now();
        buildNarrationPrompt({ turn, state, previous: recent.slice(0, -1), audience });
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      at[`${name}_p50_ms`] = round(percentile(times, 0.5));
      at[`${name}_p90_ms`] = round(percentile(times, 0.9));
    }
    figures[`turns_${turn.position}`] = at;
    process.stderr.write(`${turn.position} turns: ${JSON.stringify(at)}\n`);
  }
  return figures;
}
