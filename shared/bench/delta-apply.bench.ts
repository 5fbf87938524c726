// Delta apply and decide+evolve throughput on one core. Turns come from a simulated campaign, so
// their deltas are the mix the server really records (rolls, aspects, stress, canon, world events).
import {
  applyDeltas,
  createRandom,
  decide,
  evolve,
  isRejection,
  listFacts,
  replayDeltas,
  turnSeed,
  type Command,
  type UniverseState,
} from "@loom/shared";
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

const action = (extra: Partial<Extract<Command, { kind: "action" }>>): Command => ({
  kind: "action",
  characterId: "mara",
  action: "overcome",
  skill: "Athletics",
  description: "the slick sea wall",
  opposition: 2,
  invokes: [],
  hidden: false,
  ...extra,
});

/** A typical action: Mara climbs the sea wall with Athletics against Fair, invoking nothing. */
const overcome = action({});

/** What players mostly send: rolls of every kind, an invoke, a choice and free text. */
const typicalMix: Command[] = [
  overcome,
  action({
    action: "create_advantage",
    skill: "Notice",
    aspectName: "High Ground",
    target: { type: "scene" },
  }),
  action({
    action: "attack",
    skill: "Fight",
    target: { type: "npc", id: "bandit" },
    opposition: undefined,
    description: "",
  }),
  action({ invokes: [{ aspect: "Salt in My Veins", effect: "bonus", payment: "fate_point" }] }),
  action({
    skill: "Rapport",
    target: { type: "npc", id: "brannoc" },
    opposition: undefined,
    description: "",
  }),
  { kind: "choice", characterId: "mara", optionId: "take-boat", text: "We take the boat across the bay." },
  { kind: "custom", characterId: "mara", text: "I keep my hood up and watch the boats come in." },
];

/** Decides and evolves `count` turns, each from `base` (so the state does not drift as it would in a chain). */
function decideEvolve(
  base: UniverseState,
  commands: readonly Command[],
  count: number,
  from: number,
): number {
  for (let i = 0; i < count; i++) {
    const position = from + i;
    const decision = decide(base, commands[i % commands.length]!, {
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

/** A state that can take every command of the mix: Mara in play, rich in fate points, the bandit standing. */
function ready(state: UniverseState): UniverseState {
  const mara = { ...state.characters.mara!, fatePoints: 1_000_000, takenOut: false, conceded: false };
  const bandit = { ...state.world.npcs.bandit!, takenOut: false, stress: [false, false] };
  return {
    ...state,
    characters: { ...state.characters, mara },
    world: { ...state.world, npcs: { ...state.world.npcs, bandit } },
  };
}

export default async () => {
  process.stderr.write("delta-apply: simulating a 5,000-turn campaign\n");
  const simStart = performance.now();
  const campaign = simulateCampaign({ seed: 7, turns: 5000 });
  const simulateMs = performance.now() - simStart;
  const deltaCount = campaign.turns.reduce((sum, turn) => sum + turn.deltas.length, 0);

  process.stderr.write("delta-apply: applying recorded deltas turn by turn, and in one batch\n");
  const apply = timed(() => {
    let state = campaign.genesis;
    for (const turn of campaign.turns) state = applyDeltas(state, turn.deltas);
    return 1;
  });
  const batched = timed(() => {
    replayDeltas(campaign.genesis, campaign.turns);
    return 1;
  });

  process.stderr.write("delta-apply: decide+evolve of typical actions\n");
  const from = campaign.turns.length + 1;
  const grown = ready(campaign.final);
  const typical = timed(() => decideEvolve(grown, typicalMix, 1400, from));
  const single = timed(() => decideEvolve(grown, [overcome], 1000, from));
  const fresh = ready(seedUniverse());
  const small = timed(() => decideEvolve(fresh, typicalMix, 1400, 1));

  return {
    deltas_per_s: perSecond(apply.units * deltaCount, apply.ms),
    turns_per_s: perSecond(apply.units * campaign.turns.length, apply.ms),
    replay_batched_turns_per_s: perSecond(batched.units * campaign.turns.length, batched.ms),
    decide_evolve_turns_per_s: perSecond(typical.units, typical.ms),
    decide_evolve_overcome_turns_per_s: perSecond(single.units, single.ms),
    decide_evolve_fresh_state_turns_per_s: perSecond(small.units, small.ms),
    simulate_turns_per_s: perSecond(campaign.turns.length, simulateMs),
    deltas_per_turn: Number((deltaCount / campaign.turns.length).toFixed(2)),
    canon_facts_at_end: listFacts(campaign.final).length,
    campaign_turns: campaign.turns.length,
  };
};
