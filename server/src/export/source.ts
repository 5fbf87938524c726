import { GAME_MASTER, type Turn, type Viewer } from "@loom/shared";
import { NotFoundError, type TurnStore, type UniverseRecord } from "../persist/turn-store.ts";
import type { Audience } from "./format.ts";

/** Turns read from the store at a time: what an export holds in memory, whatever the universe's size. */
export const EXPORT_PAGE = 500;

/** What of the timeline an audience may see (shared/src/visibility.ts): a player owns the characters of their runs. */
export async function viewerOf(store: TurnStore, audience: Audience): Promise<Viewer> {
  if (audience.kind === "gm") return GAME_MASTER;
  const owned = new Set(
    (await store.listRuns({ playerId: audience.playerId })).map((run) => run.characterId),
  );
  return { role: "player", owns: (characterId) => owned.has(characterId) };
}

export async function universeOrThrow(store: TurnStore, id: string): Promise<UniverseRecord> {
  const universe = await store.getUniverse(id);
  if (!universe) throw new NotFoundError("universe", id);
  return universe;
}

/** The stretches of a timeline, root first: positions in (after, through] were played in `universeId`. */
export async function lineageOf(
  store: TurnStore,
  universe: UniverseRecord,
): Promise<Array<{ universeId: string; after: number; through: number | null }>> {
  const stretches: Array<{ universeId: string; after: number; through: number | null }> = [];
  let current: UniverseRecord | null = universe;
  let through: number | null = null;
  while (current) {
    const after: number = current.branchPosition ?? 0;
    stretches.unshift({ universeId: current.id, after, through });
    through = current.parentId ? after : null;
    current = current.parentId ? await universeOrThrow(store, current.parentId) : null;
  }
  return stretches;
}

/** The turns in (from, to], a page at a time, in position order. */
export async function* turnPages(
  store: TurnStore,
  universeId: string,
  from: number,
  to: number,
  pageSize = EXPORT_PAGE,
): AsyncGenerator<Turn[]> {
  for (let after = from; after < to; after += pageSize) {
    const page = await store.turnsBetween(universeId, after, Math.min(after + pageSize, to));
    if (page.length > 0) yield page;
  }
}

/** Progress of a long job: `done` of `total` units. */
export type Progress = (done: number, total: number) => void;
