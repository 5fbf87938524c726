import type { Application } from "express";
import { API, countFacts, RejectionCode, type ScrubView, type UniverseState } from "@loom/shared";
import { services } from "../services.ts";
import { ScrubIndex } from "../universe/scrub-index.ts";
import { ScrubStates } from "../universe/scrub-states.ts";
import { asGameMaster } from "./access.ts";
import { ApiError, intParam, route } from "./http.ts";
import { liveReads } from "./live.ts";

/** Entries of a long list the scrubber shows; the count says how many there are. */
const SHOWN = 40;

/** One per server (a test process starts several in turn): the states kept belong to its stores. */
let kept: { owner: object; states: ScrubStates; index: ScrubIndex } | null = null;
function scrubStates(): ScrubStates {
  const owner = services();
  if (kept?.owner !== owner) {
    kept?.index.close();
    const index = new ScrubIndex(owner.turnStore);
    kept = { owner, states: new ScrubStates(index), index };
  }
  return kept.states;
}

/**
 * Briefs of a state's containers, by container. States reached from one another share every
 * container the turns between did not change, so a scrub mostly meets containers it has briefed
 * before: a world's large records (hundreds of NPCs, locations, quests) are listed again only when
 * they changed.
 */
const briefs = new WeakMap<object, unknown>();
function briefed<T>(container: object, brief: () => T): T {
  let known = briefs.get(container) as T | undefined;
  if (known === undefined) {
    known = brief();
    briefs.set(container, known);
  }
  return known;
}

/** Newest last in the state, so the newest are the ones shown; only those are mapped. */
function sampled<T, U>(
  container: object,
  items: () => readonly T[],
  shown: (item: T) => U,
): { count: number; shown: U[] } {
  return briefed(container, () => {
    const all = items();
    return { count: all.length, shown: all.slice(-SHOWN).map(shown) };
  });
}

const boxes = (track: readonly boolean[]) => track.map((box) => (box ? "☒" : "☐")).join("");

export function summarize(state: UniverseState): ScrubView["summary"] {
  return {
    mode: state.mode,
    scene: {
      title: state.scene.title,
      location: state.scene.location,
      aspects: Object.values(state.scene.aspects).map((aspect) => aspect.name),
    },
    characters: Object.values(state.characters).map((character) => ({
      id: character.id,
      name: character.name,
      fatePoints: character.fatePoints,
      physicalStress: boxes(character.stress.physical),
      mentalStress: boxes(character.stress.mental),
      consequences: Object.values(character.consequences).flatMap((consequence) =>
        consequence ? [consequence.aspect] : [],
      ),
    })),
    npcs: sampled(
      state.world.npcs,
      () => Object.values(state.world.npcs),
      (npc) => ({ name: npc.name, relationship: npc.relationship }),
    ),
    quests: sampled(
      state.quests,
      () => Object.values(state.quests),
      (quest) => ({ title: quest.title, state: quest.state }),
    ),
    locations: sampled(
      state.world.locations,
      () => Object.values(state.world.locations),
      (location) => location.name,
    ),
    majorEvents: sampled(
      state.world.majorEvents,
      () => state.world.majorEvents,
      (event) => event.description,
    ),
    canonFacts: briefed(state.canon.factBuckets, () => countFacts(state)),
  };
}

/**
 * The timeline scrubber's one read per resting position: the state in brief, the turn and its
 * deltas. A game master's, so the turn is unredacted.
 */
export function installScrubRoute(app: Application): void {
  app.get(
    API.scrub.path,
    route(async (req): Promise<ScrubView> => {
      const { universe } = await asGameMaster(req);
      const position = intParam(req.query.position, "position", 0);
      // one tail read for the head, the state and the turn
      const reads = liveReads({ oneRequest: true });
      const head = await reads.head(universe.id);
      if (position > head)
        throw new ApiError(404, RejectionCode.NotFound, `position ${position} is past the head ${head}`);
      const at = await scrubStates().stateAt(reads, universe.id, position);
      // briefed while the turn shown may still be on its way
      const summary = summarize(at.state);
      const turn =
        position === 0
          ? null
          : ((await at.turn) ?? (await reads.turnsBetween(universe.id, position - 1, position))[0] ?? null);
      return {
        position,
        head,
        source: at.source,
        summary,
        turn,
        deltas: turn ? turn.deltas.map((delta) => ({ position, ...delta })) : [],
      };
    }),
  );
}
