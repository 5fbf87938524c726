import { describe, expect, it } from "vitest";
import {
  applyDeltasInPlace,
  bucketOf,
  bucketRecord,
  buildCharacter,
  emptyState,
  factPath,
  invertDeltas,
  locationPath,
  npcPath,
  pointer,
  questPath,
  upgradeDeltas,
  type Delta,
  type UniverseState,
} from "@loom/shared";
import { SHOWN, summarize } from "./scrub-summary.ts";
import { TimelineBriefs } from "./timeline-briefs.ts";

const npc = (id: string, relationship = "neutral") => ({
  id,
  name: `NPC ${id}`,
  relationship,
  attitudes: {},
  notes: "",
  gmNotes: "",
  lastSeenPosition: null,
  stress: [false, false],
  skills: {},
  takenOut: false,
});
const location = (id: string) => ({ id, name: `Place ${id}`, region: null, notes: "", discoveredAt: null });
const quest = (id: string, state = "active") => ({
  id,
  title: `Quest ${id}`,
  state,
  details: "",
  lastUpdatePosition: 0,
});
const fact = (id: string) => ({
  id,
  type: "note",
  value: id,
  confidence: 1,
  sourcePosition: 0,
  supersededAt: null,
});
const character = buildCharacter("mara", "p1", {
  name: "Mara",
  highConcept: "",
  trouble: "",
  aspects: [],
  skills: {},
  refresh: 3,
  notes: "",
});

const set = (path: string, value: unknown, prev?: unknown): Delta =>
  prev === undefined ? { op: "set", path, value: value } : { op: "set", path, value: value, prev: prev };
const unset = (path: string, prev: unknown): Delta => ({ op: "unset", path, prev: prev });
const npcs = (...ids: string[]) => bucketRecord(Object.fromEntries(ids.map((id) => [id, npc(id)])));

/**
 * Turns that reorder, replace and empty records, the way retcons and undos can. NPCs are listed
 * bucket by bucket; "a", "cv", "gb", "hs", "lo", "oz", "18" and "21" share one bucket, where
 * they are listed in the order they were added, array-index keys first.
 */
function turns(): Delta[][] {
  const many = Array.from({ length: SHOWN + 5 }, (_, i) => set(npcPath(`n${i}`), npc(`n${i}`)));
  const added = [set(npcPath("cv"), npc("cv")), set(npcPath("a"), npc("a"))];
  return [
    // added in an order that is not sorted
    added,
    // a member changed inside: its brief changes, its place does not
    [set(npcPath("cv", "relationship"), "ally", "neutral")],
    // removed and added again in one turn: it moves last
    [unset(npcPath("cv"), npc("cv")), set(npcPath("cv"), npc("cv", "wary"))],
    // undone: the inverse of the turn before
    invertDeltas([unset(npcPath("cv"), npc("cv")), set(npcPath("cv"), npc("cv", "wary"))]),
    // a retcon replaces the record whole, in its own order
    [set(pointer("world", "npcBuckets"), npcs("hs", "gb", "lo"))],
    // array-index keys are listed first, ascending
    [set(npcPath("21"), npc("21")), set(npcPath("18"), npc("18")), set(npcPath("oz"), npc("oz"))],
    // more than are shown, then one removed among them
    many,
    [unset(npcPath("n3"), npc("n3")), unset(npcPath("lo"), npc("lo"))],
    [unset(npcPath("21"), npc("21"))],
    // a bucket replaced whole
    [set(pointer("world", "npcBuckets", bucketOf("a")), { a: npc("a"), hs: npc("hs", "ally") })],
    // a GM's delta in version 2 terms, translated as every reader translates it
    upgradeDeltas([set("/world/npcs/gb", npc("gb"))]),
    // locations, quests, facts, scene, characters and mode
    [set(locationPath("cove"), location("cove")), set(questPath("q1"), quest("q1"))],
    [set(questPath("q1", "state"), "resolved", "active"), set(factPath("f1"), fact("f1"))],
    [set(factPath("f2"), fact("f2")), unset(factPath("f1"), fact("f1"))],
    [set("/characters/mara", character), set("/mode", "conflict", "scene")],
    [{ op: "increment", path: "/characters/mara/fatePoints", value: -1, prev: 3 }],
    [set("/characters/mara/stress/physical/0", true, false), set("/scene/title", "The cove", "Prologue")],
    [
      set("/scene/aspects/a1", {
        id: "a1",
        name: "Fog",
        freeInvokes: 1,
        boost: false,
        createdBy: null,
        sourcePosition: 15,
      }),
    ],
    [
      {
        op: "push",
        path: "/world/majorEvents/0",
        value: { position: 17, characterId: null, description: "Storm" },
      },
    ],
    // a fact changed inside, then replaced whole: still one fact each time
    [set(`${factPath("f2")}/value`, "changed", "f2")],
    [set(factPath("f2"), fact("f2"), { ...fact("f2"), value: "changed" })],
    // a whole fact bucket, the whole canon, then the whole world, replaced
    [set(pointer("canon", "factBuckets", factPath("f3").split("/")[3]!), { f3: fact("f3") })],
    [set(factPath("f4"), fact("f4")), set(factPath("f5"), fact("f5"))],
    [set("/canon", { ...emptyState().canon })],
    [set(factPath("f6"), fact("f6"))],
    [
      set("/world", {
        ...emptyState().world,
        npcBuckets: npcs("c", "d"),
        locationBuckets: bucketRecord({ l: location("l") }),
      }),
    ],
    [unset(npcPath("c"), npc("c")), set(npcPath("c"), npc("c")), set(npcPath("c", "name"), "Cee", "NPC c")],
  ];
}

describe("timeline briefs", () => {
  it("tell every position as summarize tells the state walked there, entries in the order they were added", () => {
    // given a walk over turns that add, change, reorder, replace and empty records
    const reference: UniverseState = emptyState("Briefed");
    const briefs = new TimelineBriefs(0, structuredClone(reference));
    const expected = [JSON.stringify(summarize(structuredClone(reference)))];
    turns().forEach((deltas, i) => {
      // each its own values: a delta's value becomes part of the state it is applied to
      applyDeltasInPlace(reference, structuredClone(deltas));
      briefs.walk(i + 1, structuredClone(deltas));
      expected.push(JSON.stringify(summarize(structuredClone(reference))));
    });
    // then each position, asked in any order, is the brief of the state there, byte for byte
    const order = expected.map((_, position) => position).reverse();
    for (const position of [...order, ...order.reverse()])
      expect(JSON.stringify(briefs.at(position)), `position ${position}`).toBe(expected[position]);
    // and the cases above are what they say they are
    const at = (position: number) => briefs.at(position).npcs.shown.map((shown) => shown.name);
    expect(at(1)).toEqual(["NPC cv", "NPC a"]);
    expect(at(3)).toEqual(["NPC a", "NPC cv"]);
    // an undo removes and adds again as well: the state keeps that order, and so does its brief
    expect(at(4)).toEqual(["NPC a", "NPC cv"]);
    expect(at(6)).toEqual(["NPC 18", "NPC 21", "NPC hs", "NPC gb", "NPC lo", "NPC oz"]);
    expect(briefs.at(7).npcs.count).toBe(6 + SHOWN + 5);
    expect(briefs.at(7).npcs.shown).toHaveLength(SHOWN);
    // the shared bucket held 18, hs, gb and oz, and is replaced by a and hs; then gb comes back
    expect(briefs.at(9).npcs.count).toBe(4 + SHOWN + 4);
    expect(briefs.at(10).npcs.count).toBe(2 + SHOWN + 4);
    expect(briefs.at(11).npcs.count).toBe(3 + SHOWN + 4);
  });

  it("refuse a turn out of order", () => {
    const briefs = new TimelineBriefs(0, emptyState());
    expect(() => briefs.walk(2, [])).toThrow(RangeError);
  });
});
