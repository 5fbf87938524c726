import { emptyState, type Turn } from "@loom/shared";
import type { TurnStore } from "../turn-store.ts";
import { freshId } from "./build.ts";

/** A player, a universe of theirs and a character of theirs in it, made through the store. */
export async function cast(store: TurnStore) {
  const player = await store.createPlayer({ id: freshId("player"), name: "Ada" });
  const universe = await store.createUniverse(
    { id: freshId("universe"), name: "Shared", createdBy: player.id },
    emptyState(),
  );
  const character = await store.createCharacter({
    id: freshId("character"),
    playerId: player.id,
    universeId: universe.id,
    name: "Brenna",
    sheet: { highConcept: "Sworn Blade of Ravensgate", skills: { Fight: 3 } },
  });
  return { store, player, universe, character };
}

/** A turn as the authority appends it; the records read only kind, run, input and status. */
export function recordTurn(
  universeId: string,
  position: number,
  fields: Partial<Turn> & Pick<Turn, "kind">,
): Turn {
  return {
    universeId,
    position,
    id: freshId("turn"),
    runId: null,
    characterId: null,
    playerId: null,
    actor: "player",
    input: { kind: fields.kind },
    resolution: null,
    events: [],
    deltas: [],
    status: "applied",
    narration: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, position)).toISOString(),
    ...fields,
  };
}
