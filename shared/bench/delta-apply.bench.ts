// Delta apply and decide+evolve throughput on one core. Turns come from a simulated campaign, so
// their deltas are the mix the server really records (rolls, aspects, stress, canon, world events).
import { applyDeltas, createRandom, decide, evolve, isRejection, turnSeed, type Command, type UniverseState } from "@loom/shared";
import { seedUniverse, simulateCampaign } from "@loom/shared/testing";

const WINDOW_MS = 1500;

function timed(body: () => number): { units: number; ms: number } {
  const start = performance.now();
  let units = 0;
  let ms = 0;
  while (ms < WINDOW_MS) {
    units += body();
    ms = performance.now() - start;
  }
  return { units, ms };
}

const perSecond = (units: number, ms: number) => Math.round((units / ms) * 1000);

/** A typical action: Mara climbs the sea wall with Athletics against Fair, invoking nothing. */
const overcome: Command = {
  kind: "action",
  characterId: "mara",
  action: "overcome",
  skill: "Athletics",
  description: "the slick sea wall",
  opposition: 2,
  invokes: [],
  hidden: false,
};

function decideEvolve(base: UniverseState, command: Command, count: number, from: number): number {
  for (let i = 0; i < count; i++) {
    const position = from + i;
    const decision = decide(base, command, {
      position,
      now: "2026-01-01T18:00:00.000Z",
      random: createRandom(turnSeed(7, position)),
      actor: { kind: "player", playerId: "player-1" },
    });
    if (isRejection(decision)) throw new Error(decision.message);
    evolve(base, decision.deltas);
  }
  return count;
}

export default async () => {
  process.stderr.write("delta-apply: simulating a 5,000-turn campaign\n");
  const simStart = performance.now();
  const campaign = simulateCampaign({ seed: 7, turns: 5000 });
  const simulateMs = performance.now() - simStart;
  const deltaCount = campaign.turns.reduce((sum, turn) => sum + turn.deltas.length, 0);

  process.stderr.write("delta-apply: applying recorded deltas\n");
  const apply = timed(() => {
    let state = campaign.genesis;
    for (const turn of campaign.turns) state = applyDeltas(state, turn.deltas);
    return 1;
  });

  process.stderr.write("delta-apply: decide+evolve of a typical action\n");
  const base = campaign.final;
  let position = campaign.turns.length + 1;
  const typical = timed(() => {
    const done = decideEvolve(base, overcome, 1000, position);
    position += done;
    return done;
  });
  const fresh = seedUniverse();
  const small = timed(() => decideEvolve(fresh, overcome, 1000, 1));

  return {
    deltas_per_s: perSecond(apply.units * deltaCount, apply.ms),
    turns_per_s: perSecond(apply.units * campaign.turns.length, apply.ms),
    decide_evolve_turns_per_s: perSecond(typical.units, typical.ms),
    decide_evolve_small_state_turns_per_s: perSecond(small.units, small.ms),
    simulate_turns_per_s: perSecond(campaign.turns.length, simulateMs),
    deltas_per_turn: Number((deltaCount / campaign.turns.length).toFixed(2)),
    campaign_turns: campaign.turns.length,
  };
};
