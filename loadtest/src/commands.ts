import type { CommandInput, CharacterSheetInput } from "@loom/shared";

export { seededRandom } from "@loom/shared/testing";

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const SKILLS = ["Athletics", "Notice", "Fight", "Will", "Physique"] as const;
const OBSTACLES = [
  "vaults the flooded ditch",
  "picks the rusted lock of the toll house",
  "climbs the sea wall before the tide turns",
  "reads the smugglers' chalk marks",
  "steadies the rope bridge",
  "outpaces the patrol along the dunes",
];
const ADVANTAGES = [
  "Tide Charts Memorised",
  "A Friend at the Docks",
  "High Ground",
  "Fog Cover",
  "Salt-Crusted Footing",
  "The Harbourmaster Owes Us",
];
const CHOICES = [
  "takes the coast road",
  "waits for nightfall",
  "trusts the ferryman",
  "follows the gulls inland",
  "burns the letter",
];
const CUSTOM = [
  "shares the last of the bread with the fisher's children",
  "sketches the ruined lighthouse into the map",
  "asks the innkeeper about the drowned bells",
  "hums the old shanty while mending a net",
];
const WORLD_EVENTS = [
  "A storm rolls in off the grey sea.",
  "Bells ring out from beneath the water.",
  "The Salt Guild raises the toll.",
  "A ship with black sails anchors in the bay.",
];

export function characterSheet(name: string): CharacterSheetInput {
  return {
    name,
    highConcept: `${name}, wandering cartographer`,
    trouble: "Owes the Salt Guild",
    aspects: [],
    skills: { Athletics: 2, Notice: 3, Fight: 2, Will: 1, Physique: 2 },
  };
}

/**
 * A player's next command: mostly rolls against passive opposition (Fair: a player names no
 * difficulty, the game master does) and advantages with a named aspect, some choices and free text. Attacks and invokes are left out on purpose: without NPCs
 * they would target other players (taking them out) or spend fate points that run dry, which
 * turns the load into rejections rather than turns.
 */
export function playerCommand(random: () => number, characterId: string): CommandInput {
  const roll = random();
  if (roll < 0.45) {
    return {
      kind: "action",
      action: "overcome",
      characterId,
      skill: pick(random, SKILLS),
      description: pick(random, OBSTACLES),
    };
  }
  if (roll < 0.65) {
    return {
      kind: "action",
      action: "create_advantage",
      characterId,
      skill: pick(random, SKILLS),
      aspectName: pick(random, ADVANTAGES),
      description: "looks for an edge",
    };
  }
  if (roll < 0.85) return { kind: "choice", characterId, text: pick(random, CHOICES) };
  return { kind: "custom", characterId, text: pick(random, CUSTOM) };
}

/** The GM's next command: world events, and now and then a new scene (which clears old aspects). */
export function gmCommand(random: () => number, count: number): CommandInput {
  if (count % 6 === 5) {
    return {
      kind: "scene",
      title: `Scene ${Math.floor(count / 6) + 2}`,
      location: "The Salt Marches",
      summary: "The tide turns.",
    };
  }
  return { kind: "world_event", text: pick(random, WORLD_EVENTS), major: random() < 0.3 };
}
