/** Word lists for simulated campaigns: enough variety for search and recaps to have something to chew on. */
export const OBSTACLES = [
  "the locked gate",
  "the rotten stairs",
  "the rising tide",
  "a suspicious harbour guard",
  "the collapsed tunnel",
  "a tangle of fishing nets",
  "the slick sea wall",
  "a jammed lighthouse door",
  "the smugglers' riddle",
  "a storm-tossed skiff",
] as const;

export const ADVANTAGES = [
  "High Ground",
  "Hidden in the Nets",
  "Distracted Guards",
  "Lantern Light",
  "Knows the Tide Tables",
  "Rope Across the Gap",
  "Rumours of a Traitor",
  "Slippery Footing",
  "Well-Placed Bribe",
  "A Friend on the Docks",
] as const;

export const SAYINGS = [
  "I keep my hood up and watch the boats come in.",
  "I ask the fishwife what she saw last night.",
  "I count the coins twice and hide half in my boot.",
  "I hum the old sailors' hymn to calm my nerves.",
  "I trace the chapel's drowned bell on the map.",
  "I tell Brannoc his debt is safe with us.",
  "I check the knots on the rope before we climb.",
  "I leave a candle at the shrine for the lost crews.",
] as const;

export const CHOICES = [
  ["take-boat", "We take the boat across the bay."],
  ["walk-shore", "We walk the long way round by the shore."],
  ["trust-veyra", "I trust Captain Veyra, for now."],
  ["refuse-deal", "I refuse the smugglers' deal."],
  ["open-chest", "I open the barnacled chest."],
  ["follow-lights", "We follow the lights into the marsh."],
] as const;

export const WORLD_EVENTS = [
  "A storm breaks over the headland",
  "The bells of the drowned chapel ring at low tide",
  "A ship with black sails anchors outside the harbour",
  "The Tide Market closes early; rumours spread of plague",
  "Smugglers clash with the Harbour Wardens on the quay",
  "A fog thicker than any in memory swallows the coast",
] as const;

export const SCENES = [
  "Night on the Quay",
  "The Lighthouse Stair",
  "Council of Wardens",
  "Into the Salt Marsh",
  "Bells Under Water",
  "Market Day",
] as const;

export const COMPELS = [
  "An old enemy recognises you in the crowd.",
  "Your oath demands you stay behind and help.",
  "Trouble finds you: a brawl breaks out around you.",
] as const;
