import { readLocation, readNpc } from "../world-records.ts";
import { describe, expect, it } from "vitest";
import { factsById, readFact } from "../canon-facts.ts";
import { seedUniverse } from "../testing/universe.ts";
import { command, decided, KELL, MARA, POSITION, rejected } from "./kit.test-helpers.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;

describe("choices and free text", () => {
  it("a choice with an option is remembered as a world flag", () => {
    const { after, kind, events } = decided(
      seedUniverse(),
      command({ kind: "choice", characterId: "mara", optionId: "take-boat", text: "We take the boat." }),
      MARA,
    );
    expect(kind).toBe("choice");
    expect(after.world.flags["choice.mara.take-boat"]).toBe("We take the boat.");
    expect(events[0]!.description).toBe('Mara chooses: "We take the boat."');
  });

  it("free text changes nothing but the story", () => {
    const { deltas, kind, events } = decided(
      seedUniverse(),
      command({ kind: "custom", characterId: "kell", text: "I sing." }),
      KELL,
    );
    expect(kind).toBe("custom");
    expect(deltas).toEqual([]);
    expect(events[0]!.description).toBe('Kell: "I sing."');
  });

  it("nobody writes for another's character", () => {
    rejected(
      seedUniverse(),
      command({ kind: "custom", characterId: "kell", text: "I sing." }),
      MARA,
      "not_your_character",
    );
    rejected(
      seedUniverse(),
      command({ kind: "choice", characterId: "kell", text: "No." }),
      MARA,
      "not_your_character",
    );
  });
});

describe("conceding (Fate Core p. 167)", () => {
  it("outside a conflict there is nothing to concede", () => {
    rejected(seedUniverse(), command({ kind: "concede", characterId: "mara" }), MARA, "invalid_action");
  });

  it("given Mara in a conflict with two consequences, when she concedes, then she gains 3 fate points and leaves the conflict", () => {
    const state = seedUniverse();
    state.mode = "conflict";
    state.characters.mara!.consequences.mild = { aspect: "Winded", freeInvokes: 0, sourcePosition: 2 };
    state.characters.mara!.consequences.moderate = { aspect: "Deep Gash", freeInvokes: 0, sourcePosition: 3 };
    const { after, events } = decided(state, command({ kind: "concede", characterId: "mara" }), MARA);
    expect(after.characters.mara).toMatchObject({ conceded: true, fatePoints: 6 });
    expect(after.mode).toBe("scene");
    expect(events.find((event) => event.type === "conceded")!.major).toBe(true);
    rejected(after, command({ kind: "custom", characterId: "mara", text: "Still here" }), MARA, "taken_out");
  });

  it("without consequences, conceding is worth one fate point", () => {
    const state = seedUniverse();
    state.mode = "conflict";
    expect(
      decided(state, command({ kind: "concede", characterId: "mara" }), MARA).after.characters.mara!
        .fatePoints,
    ).toBe(4);
  });
});

describe("compels (Fate Core p. 71)", () => {
  const compel = (accepted: boolean, aspect = "Trouble Follows Me") =>
    command({ kind: "compel", characterId: "mara", aspect, text: "An old enemy spots you.", accepted });

  it("only a game master compels", () => {
    rejected(seedUniverse(), compel(true), MARA, "not_allowed");
  });

  it("accepted: the complication happens and Mara gains a fate point", () => {
    const { after, events } = decided(seedUniverse(), compel(true), GM);
    expect(after.characters.mara!.fatePoints).toBe(4);
    expect(events[0]).toMatchObject({
      type: "compel_accepted",
      description:
        'Mara accepts a compel on "Trouble Follows Me" and gains a fate point: An old enemy spots you.',
    });
  });

  it("refused: Mara pays a fate point, and cannot refuse without one", () => {
    expect(decided(seedUniverse(), compel(false), GM).after.characters.mara!.fatePoints).toBe(2);
    const broke = seedUniverse();
    broke.characters.mara!.fatePoints = 0;
    rejected(broke, compel(false), GM, "no_fate_points");
    expect(decided(broke, compel(true), GM).after.characters.mara!.fatePoints).toBe(1);
  });

  it("may name a scene aspect, but not one that does not exist, nor a stranger", () => {
    expect(decided(seedUniverse(), compel(true, "Thick Fog"), GM).after.characters.mara!.fatePoints).toBe(4);
    rejected(seedUniverse(), compel(true, "Afraid of Spiders"), GM, "unknown_aspect");
    rejected(
      seedUniverse(),
      command({ kind: "compel", characterId: "ghost", aspect: "x", text: "y", accepted: true }),
      GM,
      "unknown_character",
    );
  });
});

describe("scenes", () => {
  const scene = (location: string | null = null) =>
    command({ kind: "scene", title: "The Lighthouse Stair", location, summary: "" });

  it("only a game master changes the scene", () => {
    rejected(seedUniverse(), scene(), MARA, "not_allowed");
  });

  it("a new scene ends the old one, clears its aspects, and is a major event", () => {
    const { after, events, kind } = decided(seedUniverse(), scene(), GM);
    expect(kind).toBe("world_event");
    expect(after.scene).toEqual({
      id: `scene-${POSITION}`,
      title: "The Lighthouse Stair",
      location: null,
      summary: "",
      aspects: {},
    });
    expect(events.map((event) => event.type)).toEqual(["scene_ended", "scene_started"]);
    expect(events[1]!.major).toBe(true);
  });

  it("given a conflict with stress, a fallen character and a mild consequence, then the new scene ends the conflict and everyone recovers", () => {
    const state = seedUniverse();
    state.mode = "conflict";
    state.characters.mara!.stress.physical = [true, false, true];
    state.characters.mara!.consequences.mild = { aspect: "Winded", freeInvokes: 0, sourcePosition: 2 };
    state.characters.mara!.consequences.moderate = { aspect: "Deep Gash", freeInvokes: 0, sourcePosition: 3 };
    state.characters.kell!.takenOut = true;
    readNpc(state, "bandit")!.stress = [true, true];
    readNpc(state, "bandit")!.takenOut = true;
    const { after, events } = decided(state, scene(), GM);
    expect(after.mode).toBe("scene");
    expect(events[0]!.type).toBe("conflict_ended");
    expect(after.characters.mara!.stress.physical).toEqual([false, false, false]);
    expect(after.characters.mara!.consequences).toMatchObject({
      mild: null,
      moderate: { aspect: "Deep Gash" },
    });
    expect(after.characters.kell!.takenOut).toBe(false);
    expect(readNpc(after, "bandit")).toMatchObject({ stress: [false, false], takenOut: true });
  });

  it("a scene at an undiscovered location discovers it, by id or by name, and canon records it", () => {
    for (const ref of ["lighthouse", "the old lighthouse"]) {
      const { after } = decided(seedUniverse(), scene(ref), GM);
      expect(after.scene.location).toBe("lighthouse");
      expect(readLocation(after, "lighthouse")!.discoveredAt).toBe(POSITION);
      expect(readFact(after, "location-lighthouse")).toMatchObject({
        type: "location",
        value: { locationId: "lighthouse", discovered: true },
      });
    }
    expect(factsById(decided(seedUniverse(), scene("harbour"), GM).after)).toEqual({});
  });
});
