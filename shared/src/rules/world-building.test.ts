import { readLocation, readNpc, readQuest } from "../world-records.ts";
import { describe, expect, it } from "vitest";
import { readFact } from "../canon-facts.ts";
import { invertDeltas } from "../delta.ts";
import { evolve } from "../evolve.ts";
import { canonicalJson } from "../canonical.ts";
import { SPECTATOR, viewTurn } from "../visibility.ts";
import type { Turn } from "../turn.ts";
import { seedUniverse } from "../testing/universe.ts";
import { command, decided, MARA, POSITION, rejected } from "./kit.test-helpers.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;

describe("typed world-building (game master)", () => {
  it("adds an NPC with defaults for what is left out; its GM notes stay out of a spectator's view", () => {
    const add = command({ kind: "npc", op: "add", name: "Harbourmaster Quell", gmNotes: "Takes bribes" });
    const { after, events, deltas, kind } = decided(seedUniverse(), add, GM);
    expect(kind).toBe("world_event");
    expect(readNpc(after, `npc-${POSITION}`)).toEqual({
      id: `npc-${POSITION}`,
      name: "Harbourmaster Quell",
      relationship: "neutral",
      attitudes: {},
      notes: "",
      gmNotes: "Takes bribes",
      lastSeenPosition: POSITION,
      stress: [false, false],
      skills: {},
      takenOut: false,
    });
    expect(events[0]).toMatchObject({ type: "npc", description: "Harbourmaster Quell enters the story" });
    const turn = { position: POSITION, input: add, events, deltas, resolution: null } as unknown as Turn;
    expect(JSON.stringify(viewTurn(turn, SPECTATOR))).not.toContain("bribes");
  });

  it("a change of an NPC's GM notes alone is a hidden turn to the table; with any other field it is told", () => {
    const state = seedUniverse();
    const secret = decided(
      state,
      command({ kind: "npc", op: "update", id: "veyra", gmNotes: "Sold the map" }),
      GM,
    );
    expect(secret.events).toMatchObject([{ type: "npc", hidden: true }]);
    const turn = (decision: typeof secret) =>
      ({
        position: POSITION,
        input: {},
        events: decision.events,
        deltas: decision.deltas,
        resolution: null,
      }) as unknown as Turn;
    expect(viewTurn(turn(secret), SPECTATOR)).toMatchObject({ events: [], deltas: [] });
    const told = decided(
      state,
      command({ kind: "npc", op: "update", id: "veyra", gmNotes: "Sold the map", notes: "Scarred" }),
      GM,
    );
    expect(told.events[0]).toMatchObject({
      type: "npc",
      hidden: false,
      description: "Captain Veyra changes",
    });
    expect(JSON.stringify(viewTurn(turn(told), SPECTATOR))).not.toContain("Sold the map");
  });

  it("updates only the fields given, and removes an NPC so that undo brings it back whole", () => {
    const state = seedUniverse();
    const update = command({
      kind: "npc",
      op: "update",
      id: "veyra",
      relationship: "friendly",
      notes: "Owes Mara",
    });
    const { after, deltas, events } = decided(state, update, GM);
    expect(readNpc(after, "veyra")).toMatchObject({
      relationship: "friendly",
      notes: "Owes Mara",
      name: "Captain Veyra",
    });
    expect(events.map((e) => e.type)).toContain("attitude_changed");
    expect(deltas.every((d) => !d.path.includes("/name"))).toBe(true);
    const removed = decided(state, command({ kind: "npc", op: "remove", id: "bandit" }), GM);
    expect(readNpc(removed.after, "bandit")).toBeUndefined();
    expect(canonicalJson(evolve(removed.after, invertDeltas(removed.deltas)))).toBe(canonicalJson(state));
  });

  it("refuses what does not fit, with a code, and changes nothing", () => {
    const state = seedUniverse();
    rejected(state, command({ kind: "npc", op: "add", name: "Spy" }), MARA, "not_allowed");
    rejected(state, command({ kind: "npc", op: "add" }), GM, "invalid_action");
    rejected(state, command({ kind: "npc", op: "add", id: "veyra", name: "Twin" }), GM, "conflict");
    rejected(state, command({ kind: "npc", op: "update", id: "nobody", notes: "x" }), GM, "unknown_target");
    rejected(
      state,
      command({ kind: "npc", op: "update", id: "veyra", relationship: "wary" }),
      GM,
      "invalid_action",
    );
    rejected(state, command({ kind: "quest", op: "resolve", id: "nothing" }), GM, "unknown_target");
    rejected(state, command({ kind: "aspect", op: "remove", name: "Clear Skies" }), GM, "unknown_aspect");
    rejected(
      state,
      command({ kind: "milestone", characterId: "nobody", level: "minor" }),
      GM,
      "unknown_character",
    );
  });

  it("locations and factions: add, update, remove", () => {
    const state = seedUniverse();
    const added = decided(
      state,
      command({ kind: "location", op: "add", id: "mill", name: "The Tide Mill", region: "Marsh" }),
      GM,
    );
    expect(readLocation(added.after, "mill")).toEqual({
      id: "mill",
      name: "The Tide Mill",
      region: "Marsh",
      notes: "",
      discoveredAt: null,
    });
    expect(readFact(added.after, "location-mill")).toMatchObject({ type: "location" });
    const gone = decided(state, command({ kind: "location", op: "remove", id: "lighthouse" }), GM);
    expect(readLocation(gone.after, "lighthouse")).toBeUndefined();
    const risen = decided(
      state,
      command({ kind: "faction", op: "update", id: "smugglers", standing: 2 }),
      GM,
    );
    expect(risen.after.world.factions.smugglers!.standing).toBe(2);
    expect(risen.events[0]!.description).toBe("The standing of Gull Smugglers rises to 2");
    const founded = decided(state, command({ kind: "faction", op: "add", name: "Lamplighters" }), GM);
    expect(founded.after.world.factions[`faction-${POSITION}`]).toEqual({
      id: `faction-${POSITION}`,
      name: "Lamplighters",
      standing: 0,
    });
  });

  it("quests start, advance, resolve and fail, and canon follows", () => {
    const state = seedUniverse();
    const started = decided(
      state,
      command({ kind: "quest", op: "start", title: "Find the Bell", details: "Under the marsh" }),
      GM,
    );
    const id = `quest-${POSITION}`;
    expect(readQuest(started.after, id)).toMatchObject({
      title: "Find the Bell",
      state: "active",
      lastUpdatePosition: POSITION,
    });
    expect(readFact(started.after, `quest-${id}`)).toMatchObject({
      type: "quest",
      value: { state: "active" },
    });
    const advanced = decided(
      started.after,
      command({ kind: "quest", op: "advance", id, details: "The bell rings at low tide" }),
      GM,
    );
    expect(readQuest(advanced.after, id)!.details).toBe("The bell rings at low tide");
    const resolved = decided(advanced.after, command({ kind: "quest", op: "resolve", id }), GM);
    expect(readQuest(resolved.after, id)!.state).toBe("resolved");
    expect(resolved.events.some((e) => e.type === "quest_resolved" && e.major)).toBe(true);
    rejected(resolved.after, command({ kind: "quest", op: "resolve", id }), GM, "invalid_action");
    const failed = decided(state, command({ kind: "quest", op: "fail", id: "debt" }), GM);
    expect(readQuest(failed.after, "debt")!.state).toBe("failed");
  });

  it("situation aspects go on and off the scene; a new scene can open with its aspects", () => {
    const state = seedUniverse();
    const on = decided(
      state,
      command({ kind: "aspect", op: "add", name: "Rising Water", freeInvokes: 1 }),
      GM,
    );
    const aspect = Object.values(on.after.scene.aspects).find((a) => a.name === "Rising Water");
    expect(aspect).toMatchObject({ freeInvokes: 1, boost: false });
    const off = decided(on.after, command({ kind: "aspect", op: "remove", name: "rising water" }), GM);
    expect(Object.values(off.after.scene.aspects).map((a) => a.name)).not.toContain("Rising Water");
    const scene = decided(
      state,
      command({ kind: "scene", title: "The Flooded Crypt", aspects: ["Knee-Deep Water", "Echoes"] }),
      GM,
    );
    expect(Object.values(scene.after.scene.aspects).map((a) => a.name)).toEqual([
      "Knee-Deep Water",
      "Echoes",
    ]);
  });

  it("a major milestone raises refresh by one; a minor one is recorded only", () => {
    const state = seedUniverse();
    const [first] = Object.values(state.characters);
    const major = decided(
      state,
      command({ kind: "milestone", characterId: first!.id, level: "major", note: "The bell is found" }),
      GM,
    );
    expect(major.after.characters[first!.id]!.refresh).toBe(first!.refresh + 1);
    expect(major.events[0]).toMatchObject({ type: "milestone", major: true });
    const minor = decided(state, command({ kind: "milestone", characterId: first!.id, level: "minor" }), GM);
    expect(minor.after.characters[first!.id]!.refresh).toBe(first!.refresh);
  });
});
