import { bucketRecord } from "../buckets.ts";
import {
  emptyState,
  type Character,
  type Npc,
  type Quest,
  type Relationship,
  type UniverseState,
} from "../state.ts";
import type { Turn, TurnEvent, TurnKind } from "../turn.ts";

/** Small builders for continuity tests and benchmarks: plain data, no randomness, no clock. */

export function characterFixture(id: string, name: string, playerId = `player-${id}`): Character {
  return {
    id,
    name,
    playerId,
    highConcept: "Wandering salt-witch",
    trouble: "Owes the Tide Court",
    aspects: [],
    skills: { Athletics: 2, Will: 3 },
    stress: { physical: [false, false, false], mental: [false, false] },
    consequences: { mild: null, moderate: null, severe: null },
    fatePoints: 3,
    refresh: 3,
    inventory: {},
    conditions: [],
    resources: {},
    takenOut: false,
    conceded: false,
    gmNotes: "gm only",
    private: { notes: "", secrets: [] },
  };
}

export function npcFixture(
  id: string,
  name: string,
  attitudes: Record<string, Relationship>,
  lastSeenPosition: number | null,
): Npc {
  return {
    id,
    name,
    relationship: "neutral",
    attitudes,
    notes: `${name} keeps the old ways.`,
    gmNotes: "secretly a smuggler",
    lastSeenPosition,
    stress: [false, false],
    skills: {},
    takenOut: false,
  };
}

export function questFixture(
  id: string,
  title: string,
  state: Quest["state"],
  lastUpdatePosition: number,
): Quest {
  return { id, title, state, details: `Details of ${title}.`, lastUpdatePosition };
}

/** The Salt Marches: Mara and Kest, three NPCs, three quests, one retcon. */
export function saltMarches(): UniverseState {
  const state = emptyState("The Salt Marches", "A drowned coast ruled by tides and debts.");
  state.characters = { mara: characterFixture("mara", "Mara Vell"), kest: characterFixture("kest", "Kest") };
  state.scene = {
    id: "scene-3",
    title: "The Bell Tower",
    location: "Saltmere",
    summary: "Water laps at the tower's lowest steps.",
    aspects: {
      fog: {
        id: "fog",
        name: "Thick Fog",
        freeInvokes: 0,
        boost: false,
        createdBy: null,
        sourcePosition: 12,
      },
      tide: {
        id: "tide",
        name: "Rising Tide",
        freeInvokes: 1,
        boost: false,
        createdBy: "mara",
        sourcePosition: 7,
      },
    },
  };
  state.world.npcBuckets = bucketRecord({
    wick: npcFixture("wick", "Old Wick", { mara: "wary", kest: "friendly" }, 40),
    sela: npcFixture("sela", "Sela the Ferrywoman", { mara: "friendly" }, 55),
    grue: npcFixture("grue", "Grue", { kest: "hostile" }, 60),
  });
  state.questBuckets = bucketRecord({
    bell: questFixture("bell", "The Drowned Bell", "active", 50),
    debt: questFixture("debt", "The Tide Court's Debt", "active", 30),
    eel: questFixture("eel", "The Great Eel", "resolved", 20),
  });
  state.canon.summaryRecent = "Mara found the bell tower and bargained with Sela for passage.";
  state.canon.retconNotes = [
    { position: 25, note: "Wick was never at the harbour." },
    { position: 58, note: "The bell is bronze, not iron." },
  ];
  return state;
}

export interface TurnSpec {
  position: number;
  characterId: string | null;
  kind?: TurnKind;
  text?: string;
  major?: boolean;
  hidden?: boolean;
  status?: Turn["status"];
  events?: TurnEvent[];
}

export function turnFixture(spec: TurnSpec): Turn {
  const kind = spec.kind ?? (spec.characterId === null ? "world_event" : "action");
  const events = spec.events ?? [
    {
      type: kind,
      description: spec.text ?? `Turn ${spec.position} by ${spec.characterId ?? "the world"}`,
      major: spec.major ?? false,
      hidden: spec.hidden ?? false,
      data: {},
    },
  ];
  return {
    universeId: "salt-marches",
    position: spec.position,
    id: `turn-${spec.position}`,
    runId: spec.characterId === null ? null : `run-${spec.characterId}`,
    characterId: spec.characterId,
    playerId: spec.characterId === null ? null : `player-${spec.characterId}`,
    actor: spec.characterId === null ? "gm" : "player",
    kind,
    input: {},
    resolution: null,
    events,
    deltas: [],
    status: spec.status ?? "applied",
    narration: null,
    createdAt: "2025-11-09T10:00:00.000Z",
  };
}
