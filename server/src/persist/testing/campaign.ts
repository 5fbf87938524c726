import { createHash } from "node:crypto";
import { applyDeltas, bucketOf, emptyState, factPath, npcPath, questPath, readPointer } from "@loom/shared";
import type {
  CanonFact,
  Character,
  Delta,
  Narration,
  Resolution,
  Turn,
  TurnEvent,
  TurnKind,
  UniverseState,
} from "@loom/shared";
import { seededRandom } from "@loom/shared/testing";
import { ASPECTS, MANNERS, NAMES, OBJECTS, OUTCOMES, PLACES, SKILLS, VERBS } from "./words.ts";

/**
 * A synthetic campaign for storage tests and benchmarks: a seeded generator of realistic turns
 * (a Fate roll, one or two events of prose, a handful of deltas that really apply to the state)
 * on a state with characters, NPCs, quests and canon facts of a few tens of kilobytes that stays
 * that size however long the campaign runs.
 */

export type Random = () => number;

export { seededRandom };

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
/** A uuid-shaped id drawn from the seeded source, like the ids the server hands out. */
export function seededUuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/**
 * A turn's id: drawn from the seeded source (one seed, one campaign, the same ids), then bound to
 * its universe and position. Drawn alone, two campaigns' ids could meet: every mulberry32 seed walks
 * the same cycle of 2^32 states, one from a different start, so a long campaign's stream can run
 * into a short one's.
 */
function turnId(random: Random, universeId: string, position: number): string {
  const hex = createHash("sha256")
    .update(`${seededUuid(random)} ${universeId} ${position}`)
    .digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const sentence = (random: Random, who: string) =>
  `${who} ${pick(random, VERBS)} ${pick(random, OBJECTS)} ${pick(random, MANNERS)}, ${pick(random, OUTCOMES)}.`;

const CHARACTERS = 4;
const NPCS = 14;
const QUESTS = 8;
const FACT_SLOTS = 60;
const MAJOR_EVENTS_KEPT = 40;

function character(random: Random, index: number): Character {
  const skills: Record<string, number> = {};
  for (const skill of SKILLS.slice(index, index + 10)) skills[skill] = int(random, 0, 4);
  return {
    id: seededUuid(random),
    name: NAMES[index]!,
    playerId: seededUuid(random),
    highConcept: pick(random, ASPECTS),
    trouble: pick(random, ASPECTS),
    aspects: [pick(random, ASPECTS), pick(random, ASPECTS), pick(random, ASPECTS)],
    skills,
    stress: { physical: [false, false, false], mental: [false, false] },
    consequences: { mild: null, moderate: null, severe: null },
    fatePoints: 3,
    refresh: 3,
    inventory: {
      lantern: { id: "lantern", name: "Hooded lantern", qty: 1, tags: ["light"] },
      rope: { id: "rope", name: "Fifty feet of rope", qty: 1, tags: ["climbing"] },
    },
    conditions: [],
    resources: { coin: 20, rations: 5 },
    takenOut: false,
    conceded: false,
    gmNotes: sentence(random, NAMES[index]!),
    private: { notes: "", secrets: [sentence(random, "Nobody knows that she")] },
  };
}

export function genesisState(universeId: string, seed: number): UniverseState {
  const random = seededRandom(seed);
  const state = emptyState(
    `Campaign ${universeId}`,
    "A drowned coast where old oaths still bind the living.",
  );
  for (let i = 0; i < CHARACTERS; i++) {
    const pc = character(random, i);
    state.characters[pc.id] = pc;
  }
  const pcIds = Object.keys(state.characters);
  for (let i = 0; i < NPCS; i++) {
    const id = `npc${i}`;
    state.world.npcBuckets[bucketOf(id)]![id] = {
      id,
      name: NAMES[(i + 6) % NAMES.length]!,
      relationship: "neutral",
      attitudes: Object.fromEntries(pcIds.map((pc) => [pc, "neutral" as const])),
      notes: sentence(random, "They say this one"),
      gmNotes: sentence(random, "Secretly, this one"),
      lastSeenPosition: null,
      stress: [false, false],
      skills: { Fight: int(random, 0, 3), Notice: int(random, 0, 3) },
      takenOut: false,
    };
  }
  PLACES.forEach((name, i) => {
    state.world.locationBuckets[bucketOf(`loc${i}`)]![`loc${i}`] = {
      id: `loc${i}`,
      name,
      region: null,
      notes: sentence(random, "Travellers"),
      discoveredAt: null,
    };
  });
  for (let i = 0; i < QUESTS; i++) {
    state.questBuckets[bucketOf(`quest${i}`)]![`quest${i}`] = {
      id: `quest${i}`,
      title: `The matter of ${pick(random, OBJECTS)}`,
      state: "active",
      details: sentence(random, pick(random, NAMES)),
      lastUpdatePosition: 0,
    };
  }
  for (let i = 0; i < FACT_SLOTS; i++)
    state.canon.factBuckets[bucketOf(`fact${i}`)]![`fact${i}`] = fact(random, i, 0);
  state.canon.summaryLong = Array.from({ length: 8 }, () => sentence(random, pick(random, NAMES))).join(" ");
  return state;
}

function fact(random: Random, slot: number, position: number): CanonFact {
  return {
    id: `fact${slot}`,
    type: pick(random, ["location", "relationship", "world_event", "character", "note"] as const),
    value: sentence(random, pick(random, NAMES)),
    confidence: Math.round(random() * 100) / 100,
    sourcePosition: position,
    supersededAt: null,
  };
}

/** A `set` (or `increment`) delta with `prev` read from the state it will apply to. */
function change(state: UniverseState, path: string, value: unknown): Delta {
  const prev = readPointer(state, path);
  return prev === undefined ? { op: "set", path, value } : { op: "set", path, value, prev };
}

function deltasFor(
  random: Random,
  state: UniverseState,
  position: number,
  pcId: string,
  description: string,
): Delta[] {
  const deltas: Delta[] = [];
  const pc = state.characters[pcId]!;
  const roll = random();
  if (roll < 0.35) {
    const amount = pc.fatePoints > 0 && random() < 0.5 ? -1 : 1;
    deltas.push({
      op: "increment",
      path: `/characters/${pcId}/fatePoints`,
      value: amount,
      prev: pc.fatePoints,
    });
  } else if (roll < 0.6) {
    const box = int(random, 0, pc.stress.physical.length - 1);
    deltas.push(change(state, `/characters/${pcId}/stress/physical/${box}`, !pc.stress.physical[box]));
  } else {
    const coin = pc.resources.coin ?? 0;
    deltas.push({
      op: "increment",
      path: `/characters/${pcId}/resources/coin`,
      value: int(random, -3, 5),
      prev: coin,
    });
  }
  const npc = `npc${int(random, 0, NPCS - 1)}`;
  if (random() < 0.4)
    deltas.push(
      change(
        state,
        npcPath(npc, "attitudes", pcId),
        pick(random, ["hostile", "wary", "neutral", "friendly", "ally"] as const),
      ),
    );
  deltas.push(change(state, npcPath(npc, "lastSeenPosition"), position));
  const slot = int(random, 0, FACT_SLOTS - 1);
  if (random() < 0.08) deltas.push(change(state, factPath(`fact${slot}`), fact(random, slot, position)));
  if (random() < 0.1) {
    const quest = `quest${int(random, 0, QUESTS - 1)}`;
    deltas.push(change(state, questPath(quest, "details"), description));
    deltas.push(change(state, questPath(quest, "lastUpdatePosition"), position));
  }
  if (random() < 0.05) {
    const events = state.world.majorEvents;
    if (events.length >= MAJOR_EVENTS_KEPT)
      deltas.push({ op: "remove", path: "/world/majorEvents/0", prev: events[0] });
    const at = Math.min(events.length, MAJOR_EVENTS_KEPT - 1);
    deltas.push({
      op: "push",
      path: `/world/majorEvents/${at}`,
      value: { position, characterId: pcId, description },
    });
  }
  if (random() < 0.05) deltas.push(change(state, "/scene/summary", description));
  return deltas;
}

function resolution(random: Random, skill: string, rating: number): Resolution {
  const dice = [0, 0, 0, 0].map(() => int(random, -1, 1) as -1 | 0 | 1);
  const opposition = int(random, 0, 4);
  const total = rating + dice.reduce<number>((sum, die) => sum + die, 0);
  const shifts = total - opposition;
  return {
    action: pick(random, ["overcome", "create_advantage", "attack", "defend"] as const),
    skill,
    rating,
    dice,
    rerolls: [],
    invokeBonus: 0,
    total,
    opposition,
    oppositionKind: "passive",
    oppositionDice: null,
    shifts,
    outcome: shifts < 0 ? "fail" : shifts === 0 ? "tie" : shifts < 3 ? "success" : "success_with_style",
    hidden: false,
  };
}

export interface SyntheticCampaign {
  readonly universeId: string;
  readonly genesis: UniverseState;
  /** The state after the last generated turn. */
  readonly state: UniverseState;
  readonly head: number;
  /** The next turn, already folded into `state`. */
  next(): Turn;
  /** The next `count` turns. */
  take(count: number): Turn[];
}

/** Turn and run ids come from `seed`; no two universes' turns share an id. */
export interface CampaignOptions {
  universeId: string;
  seed: number;
  /** Genesis state; `genesisState(universeId, seed)` when omitted. */
  genesis?: UniverseState;
  /** First position generated is `startAfter + 1` (for a branch, its branch position). */
  startAfter?: number;
  /** Attach a narration of a few sentences to every turn (as the template narrator would). */
  narrate?: boolean;
  /** Milliseconds since the epoch of the first turn; turns are 20 s apart. */
  startTime?: number;
}

export function syntheticCampaign(options: CampaignOptions): SyntheticCampaign {
  const random = seededRandom(options.seed ^ 0x5eed);
  const genesis = options.genesis ?? genesisState(options.universeId, options.seed);
  let state = genesis;
  let head = options.startAfter ?? 0;
  const startTime = options.startTime ?? Date.UTC(2025, 0, 1);
  const runIds = new Map(Object.keys(genesis.characters).map((pcId) => [pcId, seededUuid(random)]));

  const next = (): Turn => {
    const position = head + 1;
    const pcIds = Object.keys(state.characters);
    const pcId = pick(random, pcIds);
    const pc = state.characters[pcId]!;
    const who = pc.name;
    const description = sentence(random, who);
    const kind: TurnKind = random() < 0.75 ? "action" : pick(random, ["choice", "custom", "combat"] as const);
    const skill = pick(random, Object.keys(pc.skills));
    const input: Record<string, unknown> =
      kind === "action" || kind === "combat"
        ? {
            kind: "action",
            characterId: pcId,
            action: "overcome",
            skill,
            description,
            invokes: [],
            hidden: false,
          }
        : { kind, characterId: pcId, text: description };
    const rolled =
      kind === "action" || kind === "combat" ? resolution(random, skill, pc.skills[skill] ?? 0) : null;
    const events: TurnEvent[] = [
      {
        type: rolled ? "roll" : "choice",
        description: rolled
          ? `${who} rolls ${skill} (${rolled.total}) against ${rolled.opposition}: ${rolled.outcome}.`
          : `${who} chooses.`,
        major: false,
        hidden: false,
        data: {},
      },
    ];
    if (random() < 0.25)
      events.push({
        type: "npc_reaction",
        description: sentence(random, pick(random, NAMES)),
        major: random() < 0.2,
        hidden: false,
        data: {},
      });
    const deltas = deltasFor(random, state, position, pcId, description);
    state = applyDeltas(state, deltas);
    head = position;
    const narration: Narration | null = options.narrate
      ? {
          text: [0, 1]
            .slice(0, int(random, 1, 2))
            .map(() => sentence(random, pick(random, NAMES)))
            .join(" "),
          narrator: "template",
          model: null,
          seed: position,
          promptHash: null,
          tokens: null,
        }
      : null;
    return {
      universeId: options.universeId,
      position,
      id: turnId(random, options.universeId, position),
      runId: runIds.get(pcId) ?? null,
      characterId: pcId,
      playerId: pc.playerId,
      actor: "player",
      kind,
      input,
      resolution: rolled,
      events,
      deltas,
      status: "applied",
      narration,
      createdAt: new Date(startTime + position * 20_000).toISOString(),
    };
  };

  return {
    universeId: options.universeId,
    genesis,
    get state() {
      return state;
    },
    get head() {
      return head;
    },
    next,
    take: (count) => Array.from({ length: count }, next),
  };
}
