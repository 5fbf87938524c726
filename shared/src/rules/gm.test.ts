import { BUCKET_KEYS, bucketOf, emptyBuckets } from "../buckets.ts";
import { readNpc, readQuest, locationPath, questPath } from "../world-records.ts";
import { describe, expect, it } from "vitest";
import { checksum } from "../canonical.ts";
import { invertDeltas, readPointer } from "../delta.ts";
import { evolve } from "../evolve.ts";
import type { UniverseState } from "../state.ts";
import { factPath, listFacts, readFact } from "../canon-facts.ts";
import { CANON_HAPPENINGS_KEPT, CANON_HAPPENINGS_SLACK, MAJOR_EVENTS_KEPT } from "./draft.ts";
import type { AddCharacterCommand, RetconCommand } from "../system-command.ts";
import { sampleCharacter, seedUniverse } from "../testing/universe.ts";
import { command, decided, MARA, POSITION, rejected } from "./kit.test-helpers.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;
const SYSTEM = { kind: "system", playerId: null } as const;

const worldEvent = (deltas: unknown[] = [], major = true) =>
  command({ kind: "world_event", text: "A storm breaks", major, deltas } as never);

/** A bucket key other than the one `id` hashes to. */
const otherBucket = (id: string) => BUCKET_KEYS.find((key) => key !== bucketOf(id))!;
const gull = { ...readNpc(seedUniverse(), "ash")!, id: "gull", name: "The Gull King" };
const quest9 = { id: "q9", title: "Nine", state: "active", details: "", lastUpdatePosition: 0 };

describe("world events", () => {
  it("only a game master posts world events", () => {
    rejected(seedUniverse(), worldEvent(), MARA, "not_allowed");
  });

  it("a major event becomes canon and joins the world's major events", () => {
    const { after, events, kind } = decided(seedUniverse(), worldEvent(), GM);
    expect(kind).toBe("world_event");
    expect(events[0]).toMatchObject({ type: "world_event", description: "A storm breaks", major: true });
    expect(readFact(after, `world_event-${POSITION}-1`)).toMatchObject({
      type: "world_event",
      value: { text: "A storm breaks" },
      confidence: 1,
    });
    expect(after.world.majorEvents).toEqual([
      { position: POSITION, characterId: null, description: "A storm breaks" },
    ]);
  });

  it("keeps the newest happenings and major events in the state, and undo brings back what it dropped", () => {
    // given a universe whose canon holds as many happenings and major events as it may
    const full: UniverseState = seedUniverse();
    full.canon.factBuckets = emptyBuckets();
    full.world.majorEvents = [];
    const held = CANON_HAPPENINGS_KEPT + CANON_HAPPENINGS_SLACK;
    for (let i = 0; i < held; i++) {
      const id = `storm-${String(i).padStart(3, "0")}`;
      full.canon.factBuckets[bucketOf(id)]![id] = {
        id,
        type: "world_event",
        value: { text: `Storm ${i}` },
        confidence: 1,
        sourcePosition: 0,
        supersededAt: null,
      };
    }
    for (let i = 0; i < MAJOR_EVENTS_KEPT; i++)
      full.world.majorEvents.push({ position: i + 1, characterId: null, description: `Storm ${i}` });

    // when another major world event happens
    const { after, deltas } = decided(full, worldEvent(), GM);

    // then the oldest happenings go, down to the number kept, and the oldest major event gives way
    expect(listFacts(after)).toHaveLength(CANON_HAPPENINGS_KEPT);
    const dropped = held + 1 - CANON_HAPPENINGS_KEPT;
    expect(readFact(after, `storm-${String(dropped - 1).padStart(3, "0")}`)).toBeUndefined();
    expect(readFact(after, `storm-${String(dropped).padStart(3, "0")}`)).toBeDefined();
    expect(readFact(after, `world_event-${POSITION}-1`)).toMatchObject({
      value: { text: "A storm breaks" },
    });
    expect(after.world.majorEvents).toHaveLength(MAJOR_EVENTS_KEPT);
    expect(after.world.majorEvents[0]!.description).toBe("Storm 1");
    expect(after.world.majorEvents.at(-1)).toEqual({
      position: POSITION,
      characterId: null,
      description: "A storm breaks",
    });
    // and the inverse of its deltas restores the state exactly
    expect(checksum(evolve(after, invertDeltas(deltas)))).toBe(checksum(full));
  });

  it("a minor event is only words", () => {
    expect(decided(seedUniverse(), worldEvent([], false), GM).deltas).toEqual([]);
  });

  it("records the true prev of the GM's deltas, whatever was sent, so they can be undone", () => {
    const { deltas, after } = decided(
      seedUniverse(),
      worldEvent(
        [{ op: "set", path: "/world/locations/lighthouse/discoveredAt", value: 5, prev: 99 }],
        false,
      ),
      GM,
    );
    expect(deltas[0]).toEqual({
      op: "set",
      path: locationPath("lighthouse", "discoveredAt"),
      value: 5,
      prev: null,
    });
    expect(readFact(after, "location-lighthouse")).toMatchObject({
      type: "location",
      value: { locationId: "lighthouse", discovered: true },
    });
  });

  it("resolving a quest is major, canon, and a major event", () => {
    const { after, events } = decided(
      seedUniverse(),
      worldEvent([{ op: "set", path: "/quests/lighthouse/state", value: "resolved" }], false),
      GM,
    );
    expect(events.find((event) => event.type === "quest_resolved")).toMatchObject({
      major: true,
      description: 'The quest "Relight the Old Lighthouse" is resolved',
    });
    expect(readFact(after, "quest-lighthouse")).toMatchObject({
      type: "quest",
      value: { state: "resolved" },
    });
    expect(after.world.majorEvents.map((event) => event.description)).toEqual([
      'The quest "Relight the Old Lighthouse" is resolved',
    ]);
  });

  it("a new quest and an attitude change are canon too", () => {
    const quest = {
      id: "bell",
      title: "Ring the Bell",
      state: "active",
      details: "",
      lastUpdatePosition: POSITION,
    };
    const { after, events } = decided(
      seedUniverse(),
      worldEvent(
        [
          { op: "set", path: "/quests/bell", value: quest },
          { op: "set", path: "/world/npcs/veyra/attitudes/mara", value: "ally" },
        ],
        false,
      ),
      GM,
    );
    expect(events.map((event) => event.type)).toEqual(["world_event", "quest_added", "attitude_changed"]);
    expect(readFact(after, "quest-bell")).toMatchObject({
      value: { title: "Ring the Bell", state: "active" },
    });
    expect(readFact(after, "relationship-veyra-mara")).toMatchObject({ value: { attitude: "ally" } });
  });

  it.each([
    ["a missing path", { op: "set", path: "/world/npcs/kraken/attitudes/mara", value: "ally" }],
    ["an increment of a string", { op: "increment", path: "/characters/mara/name", value: 1 }],
    ["a value the schema forbids", { op: "set", path: "/characters/mara/fatePoints", value: "lots" }],
    ["removing a required field", { op: "unset", path: "/characters/mara/name" }],
    ["a member the state does not have", { op: "set", path: "/characters/mara/mana", value: 3 }],
    ["a new top-level member", { op: "set", path: "/cheats", value: true }],
    ["changing the version", { op: "set", path: "/version", value: 2 }],
    // a character's stress, consequences and notes would be lost; its player's next join sets its
    // sheet in again
    ["taking every character out", { op: "set", path: "/characters", value: {} }],
    ["taking a character out", { op: "unset", path: "/characters/mara" }],
    ["a malformed NPC", { op: "set", path: "/world/npcs/ghost", value: { id: "ghost" } }],
    // members of a bucketed record must sit in the bucket their id hashes to, or no reader finds them
    [
      "an NPC in a bucket not its own",
      { op: "set", path: `/world/npcBuckets/${otherBucket("gull")}/gull`, value: gull },
    ],
    [
      "a bucket of quests holding one that belongs elsewhere",
      { op: "set", path: `/questBuckets/${otherBucket("q9")}`, value: { q9: quest9 } },
    ],

    [
      "an array push out of range",
      {
        op: "push",
        path: "/world/majorEvents/3",
        value: { position: 1, characterId: null, description: "x" },
      },
    ],
  ])("refuses %s as invalid_action, leaving the state untouched", (_, delta) => {
    rejected(seedUniverse(), worldEvent([delta]), GM, "invalid_action");
  });

  it("accepts free-form canon values and a valid new NPC", () => {
    const npc = { ...readNpc(seedUniverse(), "ash")!, id: "gull", name: "The Gull King" };
    const { after } = decided(
      seedUniverse(),
      worldEvent(
        [
          {
            op: "set",
            path: "/canon/facts/legend",
            value: {
              id: "legend",
              type: "note",
              value: { any: ["thing"] },
              confidence: 0.5,
              sourcePosition: 1,
              supersededAt: null,
            },
          },
          { op: "set", path: "/canon/facts/legend/value/any/0", value: "else" },
          { op: "set", path: "/world/npcs/gull", value: npc },
        ],
        false,
      ),
      GM,
    );
    expect(readPointer(after, factPath("legend", "value", "any", "0"))).toBe("else");
    expect(readNpc(after, "gull")!.name).toBe("The Gull King");
  });

  it("records a fact addressed by its unbucketed path in its bucket, and refuses one put in another bucket", () => {
    const legend = {
      id: "legend",
      type: "note",
      value: 1,
      confidence: 1,
      sourcePosition: 1,
      supersededAt: null,
    };
    // given a game master who writes facts the way state version 1 addressed them
    const { deltas } = decided(
      seedUniverse(),
      worldEvent([{ op: "set", path: "/canon/facts/legend", value: legend }], false),
      GM,
    );
    // then the turn records the fact where readers look for it
    expect(deltas[0]).toEqual({ op: "set", path: factPath("legend"), value: legend });
    // and a fact put in a bucket its id does not hash to is refused
    const wrong = BUCKET_KEYS.find((key) => key !== bucketOf("legend"))!;
    rejected(
      seedUniverse(),
      worldEvent([{ op: "set", path: `/canon/factBuckets/${wrong}/legend`, value: legend }], false),
      GM,
      "invalid_action",
    );
    rejected(
      seedUniverse(),
      worldEvent([{ op: "set", path: `/canon/factBuckets/${wrong}`, value: { legend } }], false),
      GM,
      "invalid_action",
    );
    // and a bucket cannot be removed
    rejected(
      seedUniverse(),
      worldEvent([{ op: "unset", path: `/canon/factBuckets/${wrong}` }], false),
      GM,
      "invalid_action",
    );
  });
});

describe("system commands", () => {
  const add = (id = "wren"): AddCharacterCommand => ({
    kind: "add_character",
    character: sampleCharacter(id, "player-9", "Wren"),
  });

  it("adding a character puts the whole sheet in the state, as canon, as a major event", () => {
    const { after, kind, events } = decided(seedUniverse(), add(), SYSTEM);
    expect(kind).toBe("system");
    expect(after.characters.wren).toEqual(sampleCharacter("wren", "player-9", "Wren"));
    expect(readFact(after, `character-${POSITION}-1`)).toMatchObject({
      type: "character",
      value: { characterId: "wren", name: "Wren" },
    });
    expect(events[0]).toMatchObject({ type: "character_joined", major: true });
  });

  it("a character enters the story by name and high concept, its name said once", () => {
    const entrance = (highConcept: string) =>
      decided(
        seedUniverse(),
        { kind: "add_character", character: sampleCharacter("wren", "player-9", "Wren", { highConcept }) },
        SYSTEM,
      ).events[0]!.description;
    expect(entrance("Tide-caller of the reefs")).toBe("Wren, Tide-caller of the reefs, enters the story");
    expect(entrance("Wren, tide-caller of the reefs")).toBe(
      "Wren, tide-caller of the reefs, enters the story",
    );
    expect(entrance("Wren the Unready")).toBe("Wren the Unready enters the story");
  });

  it("a player cannot add characters, and a character is added once", () => {
    rejected(seedUniverse(), add(), MARA, "not_allowed");
    rejected(seedUniverse(), add("mara"), SYSTEM, "invalid_action");
  });

  it("a retcon pushes its note, corrects canon with its deltas, and is kind retcon", () => {
    const retcon: RetconCommand = {
      kind: "retcon",
      note: "Brannoc never owed anyone.",
      deltas: [{ op: "set", path: "/quests/debt/state", value: "failed" }],
    };
    const { after, kind, deltas } = decided(seedUniverse(), retcon, GM);
    expect(kind).toBe("retcon");
    expect(readQuest(after, "debt")!.state).toBe("failed");
    expect(after.canon.retconNotes).toEqual([{ position: POSITION, note: "Brannoc never owed anyone." }]);
    expect(readFact(after, `retcon-${POSITION}-1`)).toMatchObject({
      type: "retcon",
      value: { note: "Brannoc never owed anyone." },
    });
    expect(deltas[0]).toEqual({
      op: "set",
      path: questPath("debt", "state"),
      value: "failed",
      prev: "active",
    });
    rejected(seedUniverse(), retcon, MARA, "not_allowed");
    rejected(
      seedUniverse(),
      { ...retcon, deltas: [{ op: "unset", path: "/canon/nothing" }] },
      GM,
      "invalid_action",
    );
  });

  it("a session start tops fate points up to refresh (Fate Core p. 80); a session end is its own kind", () => {
    const state = seedUniverse();
    state.characters.mara!.fatePoints = 1;
    const started = decided(state, { kind: "session_start", characterId: "mara" }, MARA);
    expect(started.kind).toBe("session_start");
    expect(started.after.characters.mara!.fatePoints).toBe(3);
    const rich = seedUniverse();
    rich.characters.mara!.fatePoints = 5;
    expect(decided(rich, { kind: "session_start", characterId: "mara" }, MARA).deltas).toEqual([]);
    const ended = decided(state, { kind: "session_end", characterId: "mara", summary: "Rested." }, MARA);
    expect(ended.kind).toBe("session_end");
    expect(ended.events[0]!.data).toMatchObject({ summary: "Rested." });
    rejected(state, { kind: "session_start", characterId: "kell" }, MARA, "not_your_character");
  });

  it("a session start that continues a play session (refresh: false) leaves fate points alone", () => {
    const state = seedUniverse();
    state.characters.mara!.fatePoints = 1;
    const again = decided(state, { kind: "session_start", characterId: "mara", refresh: false }, MARA);
    expect(again.kind).toBe("session_start");
    expect(again.after.characters.mara!.fatePoints).toBe(1);
  });
});
