// Delta apply and decide+evolve throughput on one core. Turns come from a simulated campaign, so
// their deltas are the mix the server really records (rolls, aspects, stress, canon, world events).
// decide+evolve runs on the state of a campaign played by the rules for 100,000 turns (about
// 1.8 MB; LOOM_BENCH_TURNS to change it), simulated once and kept in the system's temporary folder
// while the rules play its first 1,000 turns the same; `_5000` on a 5,000-turn one, `fresh` on a
// new universe. Target ≥ 50,000 turns/s on the 100,000-turn state.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyDeltas,
  canonicalJson,
  checksum,
  createRandom,
  decide,
  evolve,
  isRejection,
  listFacts,
  npcPath,
  readNpc,
  replayDeltas,
  turnSeed,
  type Command,
  type UniverseState,
} from "@loom/shared";
import { playCampaign, seedUniverse, simulateCampaign } from "@loom/shared/testing";

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
  const bandit = { ...readNpc(state, "bandit")!, takenOut: false, stress: [false, false] };
  return applyDeltas({ ...state, characters: { ...state.characters, mara } }, [
    { op: "set", path: npcPath("bandit"), value: bandit },
  ]);
}

/** The state after `turns` turns played by the rules (seed 16), from the kept file when it still matches. */
function playedState(turns: number): UniverseState {
  const fingerprint = checksum(finalState(1_000));
  const file = join(tmpdir(), `loom-bench-played-state-16-${turns}.json`);
  if (existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, "utf8")) as { fingerprint: string; state: UniverseState };
    if (kept.fingerprint === fingerprint) return kept.state;
  }
  const started = performance.now();
  const state = finalState(turns, (position) => {
    if (position % 10_000 === 0)
      process.stderr.write(
        `delta-apply: played ${position} turns in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
  });
  writeFileSync(file, canonicalJson({ fingerprint, state }));
  return state;
}

function finalState(turns: number, progress?: (position: number) => void): UniverseState {
  const played = playCampaign({ seed: 16, turns });
  let state = played.genesis;
  for (const step of played.steps) {
    state = step.state;
    progress?.(step.turn.position);
  }
  return state;
}

export default async () => {
  const turns = Number(process.env.LOOM_BENCH_TURNS || 100_000);
  process.stderr.write(`delta-apply: the state after ${turns} turns played by the rules\n`);
  const large = ready(playedState(turns));
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
  const load = loadavg()[0]!;
  const played = timed(() => decideEvolve(large, typicalMix, 1400, turns + 1));
  const playedOvercome = timed(() => decideEvolve(large, [overcome], 1000, turns + 1));
  const typical = timed(() => decideEvolve(grown, typicalMix, 1400, from));
  const single = timed(() => decideEvolve(grown, [overcome], 1000, from));
  const fresh = ready(seedUniverse());
  const small = timed(() => decideEvolve(fresh, typicalMix, 1400, 1));

  return {
    deltas_per_s: perSecond(apply.units * deltaCount, apply.ms),
    turns_per_s: perSecond(apply.units * campaign.turns.length, apply.ms),
    replay_batched_turns_per_s: perSecond(batched.units * campaign.turns.length, batched.ms),
    played_state_kb: Math.round(canonicalJson(large).length / 1024),
    decide_evolve_turns_per_s: perSecond(played.units, played.ms),
    decide_evolve_overcome_turns_per_s: perSecond(playedOvercome.units, playedOvercome.ms),
    decide_evolve_5000_turns_per_s: perSecond(typical.units, typical.ms),
    decide_evolve_5000_overcome_turns_per_s: perSecond(single.units, single.ms),
    decide_evolve_fresh_state_turns_per_s: perSecond(small.units, small.ms),
    simulate_turns_per_s: perSecond(campaign.turns.length, simulateMs),
    deltas_per_turn: Number((deltaCount / campaign.turns.length).toFixed(2)),
    canon_facts_at_end: listFacts(campaign.final).length,
    campaign_turns: campaign.turns.length,
    load_average_1m: Number(load.toFixed(2)),
  };
};
