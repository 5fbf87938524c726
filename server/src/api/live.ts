import { publicUniverse, type PublicUniverse } from "@loom/shared";
import { services } from "../services.ts";
import { LiveReads } from "../universe/live-reads.ts";
import type { UniverseRecord } from "../persist/turn-store.ts";

/** Reads of timelines that include every acknowledged turn (see live-reads.ts). */
export function liveReads(options: { oneRequest?: boolean } = {}): LiveReads {
  const { turnStore, liveStore } = services();
  return new LiveReads(turnStore, liveStore, options.oneRequest);
}

/**
 * A universe as the API returns it, its head the newest acknowledged turn. The record was read
 * before the tail, so its head counts too: a turn persisted and trimmed in between is in one of them.
 */
export async function shownUniverse(universe: UniverseRecord): Promise<PublicUniverse> {
  const head = await liveReads().head(universe.id);
  return publicUniverse({ ...universe, headPosition: Math.max(universe.headPosition, head) });
}

/**
 * Several universes as the API returns them, each head raised to its stream's newest turn. One
 * small stream read a universe and no further query: a turn persisted and trimmed between the
 * list's read and its stream's read (a few milliseconds) can be missing from a list, never from
 * `shownUniverse`.
 */
export async function shownUniverses(universes: UniverseRecord[]): Promise<PublicUniverse[]> {
  const reads = liveReads();
  return Promise.all(
    universes.map(async (universe) =>
      publicUniverse({
        ...universe,
        headPosition: await reads.headGiven(universe.id, universe.headPosition),
      }),
    ),
  );
}
