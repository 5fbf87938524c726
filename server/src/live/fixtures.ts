import { emptyState, type Turn, type UniverseState } from "@loom/shared";

// Sample data for the live store's contract suite and benchmark: a turn shaped like real play,
// with nested events, deltas and narration, so JSON round trips are exercised for real.

export function sampleTurn(universeId: string, position: number): Turn {
  return {
    universeId,
    position,
    id: `${universeId}-turn-${position}`,
    runId: "run-1",
    characterId: "c1",
    playerId: "p1",
    actor: "player",
    kind: "action",
    input: { text: `Mira searches the archive (${position})`, skill: "Investigate" },
    resolution: null,
    events: [
      {
        type: "discovery",
        description: "A ledger with a torn page",
        major: position % 10 === 0,
        hidden: false,
        data: { clue: position },
      },
    ],
    deltas: [
      { op: "increment", path: "/characters/c1/fatePoints", value: -1, prev: 3 },
      { op: "set", path: "/scene/summary", value: `The archive, turn ${position}`, prev: "" },
    ],
    status: "applied",
    narration: {
      text: "Dust rises as the ledger opens; someone has been here before you.",
      narrator: "scripted",
      model: null,
      seed: position,
      promptHash: null,
      tokens: null,
    },
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, position)).toISOString(),
  };
}

export function sampleTurns(universeId: string, from: number, count: number): Turn[] {
  return Array.from({ length: count }, (_, index) => sampleTurn(universeId, from + index));
}

export function sampleState(summary: string): UniverseState {
  const state = emptyState("The Drowned Archive", "A city of books slowly sinking");
  state.scene.summary = summary;
  return state;
}
