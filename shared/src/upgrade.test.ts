import { describe, expect, it } from "vitest";
import { factPath, listFacts, readFact } from "./canon-facts.ts";
import { checksum } from "./canonical.ts";
import { applyDeltas, type Delta } from "./delta.ts";
import { simulateCampaign } from "./testing/campaign.ts";
import { seedUniverse } from "./testing/universe.ts";
import { STATE_VERSION, upcastState, type CanonFact } from "./state.ts";
import { downcastToV1, downcastToV2, upgradeDelta, upgradeDeltas } from "./upgrade.ts";
import { BUCKET_KEYS, bucketOf } from "./buckets.ts";
import {
  listLocations,
  listNpcs,
  listQuests,
  locationPath,
  npcPath,
  questPath,
  readLocation,
  readNpc,
  readQuest,
} from "./world-records.ts";

const fact = (id: string, sourcePosition = 3): CanonFact => ({
  id,
  type: "note",
  value: { text: id },
  confidence: 1,
  sourcePosition,
  supersededAt: null,
});

/** A version 1 document: facts in one record, as version 1 stored it. */
function v1Document(facts: Record<string, CanonFact>): Record<string, unknown> {
  const document = downcastToV1(seedUniverse());
  return { ...document, canon: { ...(document.canon as object), facts } };
}

describe("canon fact buckets", () => {
  it("put each fact in the bucket its id hashes to, spread over all of them", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `relationship-npc-${i}-mara`);
    const sizes = new Map<string, number>();
    for (const id of ids) sizes.set(bucketOf(id), (sizes.get(bucketOf(id)) ?? 0) + 1);
    expect(sizes.size).toBe(BUCKET_KEYS.length);
    // about 31 a bucket: none holds more than twice its share
    expect(Math.max(...sizes.values())).toBeLessThan((2 * ids.length) / BUCKET_KEYS.length);
    expect(factPath("a/b", "value")).toBe(`/canon/factBuckets/${bucketOf("a/b")}/a~1b/value`);
  });

  it("make a fact-recording turn copy one bucket: every other bucket is shared with the state before", () => {
    // given a state holding many facts
    const document = v1Document(
      Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, fact(`f${i}`)])),
    );
    const before = upcastState(document);
    // when a turn records a fact
    const after = applyDeltas(before, [{ op: "set", path: factPath("new"), value: fact("new") }]);
    // then only the new fact's bucket is a new object
    const copied = BUCKET_KEYS.filter(
      (key) => after.canon.factBuckets[key] !== before.canon.factBuckets[key],
    );
    expect(copied).toEqual([bucketOf("new")]);
    expect(readFact(after, "new")).toEqual(fact("new"));
    expect(readFact(after, "__proto__")).toBeUndefined();
  });
});

describe("reading state version 1", () => {
  it("upcasts a version 1 document into buckets, and downcasts back to the same bytes", () => {
    // given a version 1 document with facts, one of them with a JSON Pointer's special characters in its id
    const facts = {
      "aspect-1-1": fact("aspect-1-1"),
      "a/b~c": fact("a/b~c"),
      "quest-bell": fact("quest-bell", 9),
    };
    const document = v1Document(facts);
    // when it is upcast
    const state = upcastState(document);
    // then it is the current version, with every fact readable by id, and nothing else changed
    expect(state.version).toBe(STATE_VERSION);
    for (const id of Object.keys(facts)) expect(readFact(state, id)).toEqual(facts[id as keyof typeof facts]);
    expect(listFacts(state)).toHaveLength(3);
    expect(checksum(downcastToV1(state))).toBe(checksum(document));
  });

  it("translates version 1 fact paths into the id's bucket, and leaves every other delta as it is", () => {
    const moved: Delta = { op: "set", path: "/canon/facts/a~1b/supersededAt", value: 7, prev: null };
    expect(upgradeDelta(moved)).toEqual({ ...moved, path: factPath("a/b", "supersededAt") });
    const unset: Delta = { op: "unset", path: "/canon/facts/quest-bell", prev: fact("quest-bell") };
    expect(upgradeDelta(unset)).toEqual({ ...unset, path: factPath("quest-bell") });
    for (const same of [
      { op: "set", path: "/canon/summaryRecent", value: "x" },
      { op: "push", path: "/canon/retconNotes/0", value: { position: 1, note: "n" } },
      { op: "increment", path: "/characters/mara/fatePoints", value: 1, prev: 2 },
      { op: "set", path: factPath("quest-bell"), value: fact("quest-bell") },
    ] satisfies Delta[]) {
      expect(upgradeDelta(same)).toBe(same);
    }
    const deltas: Delta[] = [{ op: "set", path: "/mode", value: "scene", prev: "conflict" }];
    expect(upgradeDeltas(deltas)).toBe(deltas);
  });

  it("translates a delta replacing the whole facts record or the whole canon by bucketing its values", () => {
    const old = { a: fact("a") };
    const next = { a: fact("a", 5), b: fact("b") };
    const whole = upgradeDelta({ op: "set", path: "/canon/facts", value: next, prev: old });
    const applied = applyDeltas(upcastState(v1Document(old)), [whole]);
    expect(readFact(applied, "b")).toEqual(fact("b"));
    expect(applied).toEqual(upcastState(v1Document(next)));
    const canon = v1Document(next).canon as Record<string, unknown>;
    const replaced = upgradeDelta({ op: "set", path: "/canon", value: canon });
    expect(applyDeltas(upcastState(v1Document(old)), [replaced])).toEqual(upcastState(v1Document(next)));
  });

  it("replays a campaign's version 1 deltas to the state its version 2 deltas reach", () => {
    // given a campaign, and the same turns as version 1 would have recorded them
    const campaign = simulateCampaign({ seed: 77, turns: 300 });
    const asV1 = (delta: Delta): Delta => {
      const match = /^\/canon\/factBuckets\/b[0-9a-f]{2}(\/.*)$/.exec(delta.path);
      return match ? { ...delta, path: `/canon/facts${match[1]}` } : delta;
    };
    const v1Turns = campaign.turns.map((turn) => ({ ...turn, deltas: turn.deltas.map(asV1) }));
    expect(v1Turns.some((turn) => turn.deltas.some((delta) => delta.path.startsWith("/canon/facts/")))).toBe(
      true,
    );
    // when they are translated and applied
    const replayed = applyDeltas(
      campaign.genesis,
      v1Turns.flatMap((turn) => upgradeDeltas(turn.deltas)),
    );
    // then the result is the campaign's state
    expect(checksum(replayed)).toBe(checksum(campaign.final));
  });
});

describe("reading state version 2", () => {
  const v2 = () => downcastToV2(seedUniverse());
  const world = (document: Record<string, unknown>) =>
    document.world as Record<string, Record<string, unknown>>;

  it("upcasts a version 2 document's NPCs, locations and quests into buckets, and downcasts back to the same bytes", () => {
    // given a version 2 document, one NPC with a JSON Pointer's special characters in its id
    const document = v2();
    const odd = { ...(world(document).npcs!.brannoc as object), id: "a/b~c" };
    world(document).npcs = { ...world(document).npcs, "a/b~c": odd };
    // and a fact in its bucket as version 2 keyed it ("07", where version 3 has "b07")
    const v2Buckets = (document.canon as { factBuckets: Record<string, Record<string, CanonFact>> })
      .factBuckets;
    v2Buckets[bucketOf("legend").slice(1)] = { legend: fact("legend") };
    expect(Object.keys(v2Buckets)).toContain("07");
    // when it is upcast
    const state = upcastState(document);
    // then every member is readable by id, in the bucket its id hashes to, and nothing else changed
    expect(state.version).toBe(STATE_VERSION);
    expect(readNpc(state, "a/b~c")).toEqual(odd);
    expect(state.world.npcBuckets[bucketOf("a/b~c")]!["a/b~c"]).toEqual(odd);
    expect(listNpcs(state)).toHaveLength(Object.keys(world(document).npcs!).length);
    expect(listLocations(state)).toHaveLength(Object.keys(world(document).locations!).length);
    expect(listQuests(state)).toHaveLength(Object.keys(document.quests as object).length);
    expect(readLocation(state, "lighthouse")?.name).toBe("The Old Lighthouse");
    expect(readQuest(state, "debt")?.title).toBe("Pay Brannoc's Debt");
    expect(readFact(state, "legend")).toEqual(fact("legend"));
    expect(Object.keys(state.canon.factBuckets)).toEqual(expect.arrayContaining(["b07", "b3f"]));
    expect(Object.keys(state.canon.factBuckets)).toHaveLength(64);
    expect(checksum(downcastToV2(state))).toBe(checksum(document));
  });

  it("translates version 2 paths into the id's bucket, and leaves every other delta as it is", () => {
    const npc: Delta = { op: "set", path: "/world/npcs/a~1b/attitudes/mara", value: "ally" };
    expect(upgradeDelta(npc)).toEqual({ ...npc, path: npcPath("a/b", "attitudes", "mara") });
    const location: Delta = { op: "set", path: "/world/locations/cove/discoveredAt", value: 3, prev: null };
    expect(upgradeDelta(location)).toEqual({ ...location, path: locationPath("cove", "discoveredAt") });
    const quest: Delta = { op: "unset", path: "/quests/debt", prev: { id: "debt" } };
    expect(upgradeDelta(quest)).toEqual({ ...quest, path: questPath("debt") });
    const keyed = `/canon/factBuckets/${bucketOf("legend").slice(1)}/legend/supersededAt`;
    const supersede: Delta = { op: "set", path: keyed, value: 9, prev: null };
    expect(upgradeDelta(supersede)).toEqual({ ...supersede, path: factPath("legend", "supersededAt") });
    const buckets: Delta = { op: "set", path: "/canon/factBuckets", value: { "07": {}, "3f": {} } };
    expect(upgradeDelta(buckets)).toEqual({ ...buckets, value: { b07: {}, b3f: {} } });
    for (const same of [
      { op: "set", path: "/world/factions/wardens/standing", value: 1, prev: 0 },
      {
        op: "push",
        path: "/world/majorEvents/0",
        value: { position: 1, characterId: null, description: "x" },
      },
      { op: "set", path: npcPath("brannoc", "relationship"), value: "ally", prev: "neutral" },
      { op: "set", path: questPath("debt", "state"), value: "failed", prev: "active" },
    ] satisfies Delta[]) {
      expect(upgradeDelta(same)).toBe(same);
    }
  });

  it("translates a delta replacing a whole record or the whole world by bucketing its values", () => {
    const before = v2();
    const next = v2();
    world(next).npcs = { veyra: world(next).npcs!.veyra };
    world(next).locations = {};
    next.quests = { debt: (next.quests as Record<string, unknown>).debt };
    const wholeNpcs = upgradeDelta({ op: "set", path: "/world/npcs", value: world(next).npcs });
    const wholeLocations = upgradeDelta({ op: "set", path: "/world/locations", value: {} });
    const wholeQuests = upgradeDelta({ op: "set", path: "/quests", value: next.quests });
    const applied = applyDeltas(upcastState(before), [wholeNpcs, wholeLocations, wholeQuests]);
    expect(applied).toEqual(upcastState(next));
    const replaced = upgradeDelta({ op: "set", path: "/world", value: world(next) });
    expect(applyDeltas(upcastState(before), [replaced]).world).toEqual(upcastState(next).world);
  });

  it("make a turn that changes one NPC copy one bucket: every other bucket is shared with the state before", () => {
    // given a world of many NPCs
    const document = v2();
    world(document).npcs = Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [
        `npc${i}`,
        { ...(world(document).npcs!.brannoc as object), id: `npc${i}` },
      ]),
    );
    const before = upcastState(document);
    // when a turn changes one of them
    const after = applyDeltas(before, [{ op: "set", path: npcPath("npc7", "relationship"), value: "ally" }]);
    // then only its bucket is a new object
    const copied = BUCKET_KEYS.filter((key) => after.world.npcBuckets[key] !== before.world.npcBuckets[key]);
    expect(copied).toEqual([bucketOf("npc7")]);
    expect(readNpc(after, "npc7")?.relationship).toBe("ally");
    expect(readNpc(after, "__proto__")).toBeUndefined();
  });

  it("replays a campaign's version 2 deltas to the state its version 3 deltas reach", () => {
    // given a campaign, and the same turns as version 2 would have recorded them
    const campaign = simulateCampaign({ seed: 78, turns: 400 });
    const asV2 = (delta: Delta): Delta => {
      for (const [bucketed, keyed] of [
        [/^\/world\/npcBuckets\/b[0-9a-f]{2}\//, "/world/npcs/"],
        [/^\/world\/locationBuckets\/b[0-9a-f]{2}\//, "/world/locations/"],
        [/^\/questBuckets\/b[0-9a-f]{2}\//, "/quests/"],
        [/^\/canon\/factBuckets\/b/, "/canon/factBuckets/"],
      ] as const)
        if (bucketed.test(delta.path)) return { ...delta, path: delta.path.replace(bucketed, keyed) };
      return delta;
    };
    const v2Turns = campaign.turns.map((turn) => ({ ...turn, deltas: turn.deltas.map(asV2) }));
    for (const old of ["/world/npcs/", "/world/locations/", "/quests/", "/canon/factBuckets/0"])
      expect(
        v2Turns.some((turn) => turn.deltas.some((delta) => delta.path.startsWith(old))),
        old,
      ).toBe(true);
    // when they are translated and applied to the genesis as version 2 stored it
    const replayed = applyDeltas(
      upcastState(downcastToV2(campaign.genesis)),
      v2Turns.flatMap((turn) => upgradeDeltas(turn.deltas)),
    );
    // then the result is the campaign's state
    expect(checksum(replayed)).toBe(checksum(campaign.final));
  });
});
