import { bucketRecord } from "../buckets.ts";
import type { Aspect, Character, Npc, UniverseState } from "../state.ts";
import { emptyState } from "../state.ts";

/**
 * A ready-made Fate character. Skills (a pyramid of Fate Core p. 47, trimmed): Fight Good +3;
 * Athletics and Notice Fair +2; Rapport, Will and Physique Average +1. Three physical and three
 * mental stress boxes, three fate points, refresh 3. Tests read these numbers; keep them stable.
 */
export function sampleCharacter(
  id: string,
  playerId: string,
  name: string,
  overrides: Partial<Character> = {},
): Character {
  return {
    id,
    name,
    playerId,
    highConcept: `${name}, Oathsworn Wanderer`,
    trouble: "Trouble Follows Me",
    aspects: ["Friends in Low Places", "Salt in My Veins"],
    skills: { Fight: 3, Athletics: 2, Notice: 2, Rapport: 1, Will: 1, Physique: 1 },
    stress: { physical: [false, false, false], mental: [false, false, false] },
    consequences: { mild: null, moderate: null, severe: null },
    fatePoints: 3,
    refresh: 3,
    inventory: { rope: { id: "rope", name: "Fifty feet of rope", qty: 1, tags: ["climbing"] } },
    conditions: [],
    resources: { coin: 20 },
    takenOut: false,
    conceded: false,
    gmNotes: "",
    private: { notes: "", secrets: [] },
    ...overrides,
  };
}

/** The player characters of the sample universe, in order; player ids are `player-1`… */
export const SAMPLE_CHARACTERS = [
  ["mara", "Mara"],
  ["kell", "Kell"],
  ["ysolde", "Ysolde"],
  ["tobin", "Tobin"],
  ["wren", "Wren"],
  ["idris", "Idris"],
  ["sabine", "Sabine"],
  ["corvin", "Corvin"],
] as const;

function npc(
  id: string,
  name: string,
  relationship: Npc["relationship"],
  skills: Record<string, number>,
  boxes: number,
): Npc {
  return {
    id,
    name,
    relationship,
    attitudes: {},
    notes: "",
    gmNotes: "",
    lastSeenPosition: null,
    stress: Array.from({ length: boxes }, () => false),
    skills,
    takenOut: false,
  };
}

function aspect(id: string, name: string, freeInvokes: number): Aspect {
  return { id, name, freeInvokes, boost: false, createdBy: null, sourcePosition: 0 };
}

/**
 * A small drowned-coast universe: `characters` player characters (up to 8, default 3), four NPCs,
 * five locations (two discovered), two active quests, two factions and a first scene with the
 * aspects "Thick Fog" (one free invoke) and "Crowded Docks" (none).
 */
export function seedUniverse(options: { characters?: number; name?: string } = {}): UniverseState {
  const count = options.characters ?? 3;
  if (count < 0 || count > SAMPLE_CHARACTERS.length)
    throw new RangeError(`1..${SAMPLE_CHARACTERS.length} characters`);
  const state = emptyState(
    options.name ?? "The Drowned Coast",
    "A drowned coast where old oaths still bind the living.",
  );
  SAMPLE_CHARACTERS.slice(0, count).forEach(([id, name], index) => {
    state.characters[id] = sampleCharacter(id, `player-${index + 1}`, name);
  });
  state.world.npcBuckets = bucketRecord({
    brannoc: npc("brannoc", "Old Brannoc", "neutral", { Fight: 2, Athletics: 1, Will: 2, Notice: 3 }, 2),
    veyra: npc("veyra", "Captain Veyra", "wary", { Fight: 4, Athletics: 3, Will: 3, Notice: 2 }, 3),
    bandit: npc("bandit", "Marsh Bandit", "hostile", { Fight: 1, Athletics: 1, Stealth: 2 }, 2),
    ash: npc("ash", "Sister Ash", "friendly", { Empathy: 3, Will: 4, Lore: 4 }, 2),
  });
  const place = (id: string, name: string, region: string, discoveredAt: number | null) => ({
    id,
    name,
    region,
    notes: "",
    discoveredAt,
  });
  state.world.locationBuckets = bucketRecord({
    harbour: place("harbour", "Greywater Harbour", "coast", 0),
    market: place("market", "Tide Market", "coast", 0),
    lighthouse: place("lighthouse", "The Old Lighthouse", "headland", null),
    marsh: place("marsh", "Salt Marsh", "marsh", null),
    chapel: place("chapel", "Drowned Chapel", "marsh", null),
  });
  state.world.factions = {
    wardens: { id: "wardens", name: "Harbour Wardens", standing: 0 },
    smugglers: { id: "smugglers", name: "Gull Smugglers", standing: -1 },
  };
  state.questBuckets = bucketRecord({
    lighthouse: {
      id: "lighthouse",
      title: "Relight the Old Lighthouse",
      state: "active",
      details: "",
      lastUpdatePosition: 0,
    },
    debt: { id: "debt", title: "Pay Brannoc's Debt", state: "active", details: "", lastUpdatePosition: 0 },
  });
  state.scene = {
    id: "scene-0",
    title: "Fog on the Harbour",
    location: "harbour",
    summary: "The fog rolls in as the last boats come home.",
    aspects: { fog: aspect("fog", "Thick Fog", 1), docks: aspect("docks", "Crowded Docks", 0) },
  };
  return state;
}
