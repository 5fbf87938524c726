// How the state document grows over a long campaign played through the real rules (seeded
// simulateCampaign: actions, choices, world events, scenes, compels, retcons, undos), and what
// that costs per turn. Every snapshot, jump, hydration and checksum handles the whole document,
// so its size at 1,000, 5,000 and 20,000 turns is the figure to watch.
import { canonicalJson, checksum } from "../src/canonical.ts";
import { evolve } from "../src/evolve.ts";
import { listFacts } from "../src/canon-facts.ts";
import { simulateCampaign } from "../src/testing/campaign.ts";

const MARKS = [1_000, 5_000, 20_000];
const WINDOW = 500;

export default async function stateGrowth(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const campaign = simulateCampaign({ seed: 5, turns: MARKS.at(-1)! });
  process.stderr.write(
    `  ${campaign.turns.length} turns simulated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  const figures: Record<string, unknown> = { turns: campaign.turns.length };
  let state = campaign.genesis;
  let position = 0;
  for (const mark of MARKS) {
    // evolve up to the window before the mark, then time the window's turns
    for (; position < mark - WINDOW; position++) state = evolve(state, campaign.turns[position]!.deltas);
    const windowStart = performance.now();
    for (; position < mark; position++) state = evolve(state, campaign.turns[position]!.deltas);
    const evolveUs = ((performance.now() - windowStart) * 1000) / WINDOW;
    const checksumStart = performance.now();
    checksum(state);
    const checksumMs = performance.now() - checksumStart;
    figures[`at_${mark}`] = {
      state_kb: Math.round(canonicalJson(state).length / 1024),
      canon_facts: listFacts(state).length,
      major_events: state.world.majorEvents.length,
      evolve_us_per_turn: Math.round(evolveUs),
      checksum_ms: Math.round(checksumMs * 100) / 100,
    };
  }
  return figures;
}
