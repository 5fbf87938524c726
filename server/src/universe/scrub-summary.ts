import {
  countFacts,
  listLocations,
  listNpcs,
  listQuests,
  type Npc,
  type Quest,
  type ScrubView,
  type UniverseState,
  type WorldLocation,
} from "@loom/shared";

/** The state in brief, as the timeline scrubber shows it at a position. */
export type ScrubSummary = ScrubView["summary"];
type Sampled<T> = { count: number; shown: T[] };
export type NpcBrief = ScrubSummary["npcs"]["shown"][number];
export type QuestBrief = ScrubSummary["quests"]["shown"][number];
export type CharacterBrief = ScrubSummary["characters"][number];

/** Entries of a long list the scrubber shows; the count says how many there are. */
export const SHOWN = 40;

/**
 * How each part of a state is told in brief. The scrub index (scrub-index.ts) keeps these briefs
 * position by position and `summarize` tells a whole state with them, so that both answer alike.
 */
export const brief = {
  mode: (state: UniverseState): string => state.mode,
  scene: (state: UniverseState): ScrubSummary["scene"] => ({
    title: state.scene.title,
    location: state.scene.location,
    aspects: Object.values(state.scene.aspects).map((aspect) => aspect.name),
  }),
  character: (character: UniverseState["characters"][string]): CharacterBrief => ({
    id: character.id,
    name: character.name,
    fatePoints: character.fatePoints,
    physicalStress: boxes(character.stress.physical),
    mentalStress: boxes(character.stress.mental),
    consequences: Object.values(character.consequences).flatMap((consequence) =>
      consequence ? [consequence.aspect] : [],
    ),
  }),
  npc: (npc: Npc): NpcBrief => ({
    name: npc.name,
    relationship: npc.relationship,
  }),
  quest: (quest: Quest): QuestBrief => ({ title: quest.title, state: quest.state }),
  location: (location: WorldLocation): string => location.name,
  majorEvents: (state: UniverseState): Sampled<string> => sample(state.world.majorEvents, majorEvent),
  canonFacts: (state: UniverseState): number => countFacts(state),
};

const majorEvent = (event: UniverseState["world"]["majorEvents"][number]) => event.description;

const boxes = (track: readonly boolean[]) => track.map((box) => (box ? "☒" : "☐")).join("");

/** Newest last in the state, so the newest are the ones shown; only those are mapped. */
function sample<T, U>(all: readonly T[], shown: (item: T) => U): Sampled<U> {
  return { count: all.length, shown: all.slice(-SHOWN).map(shown) };
}

/** The parts in the order the answer lists them. */
export function summary(parts: ScrubSummary): ScrubSummary {
  return {
    mode: parts.mode,
    scene: parts.scene,
    characters: parts.characters,
    npcs: parts.npcs,
    quests: parts.quests,
    locations: parts.locations,
    majorEvents: parts.majorEvents,
    canonFacts: parts.canonFacts,
  };
}

/**
 * Briefs of a state's containers, by container. States reached from one another share every
 * container the turns between did not change, so a scrub mostly meets containers it has briefed
 * before: a world's large records (hundreds of NPCs, locations, quests) are listed again only when
 * they changed.
 */
const briefs = new WeakMap<object, unknown>();
function briefed<T>(container: object, make: () => T): T {
  let known = briefs.get(container) as T | undefined;
  if (known === undefined) {
    known = make();
    briefs.set(container, known);
  }
  return known;
}

/** A whole state in brief (a state read from a snapshot or walked from one kept). */
export function summarize(state: UniverseState): ScrubSummary {
  return summary({
    mode: brief.mode(state),
    scene: brief.scene(state),
    characters: Object.values(state.characters).map(brief.character),
    npcs: briefed(state.world.npcBuckets, () => sample(listNpcs(state), brief.npc)),
    quests: briefed(state.questBuckets, () => sample(listQuests(state), brief.quest)),
    locations: briefed(state.world.locationBuckets, () => sample(listLocations(state), brief.location)),
    majorEvents: briefed(state.world.majorEvents, () => brief.majorEvents(state)),
    canonFacts: briefed(state.canon.factBuckets, () => brief.canonFacts(state)),
  });
}
