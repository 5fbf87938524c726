import { describe, expect, it } from "vitest";
import { FACT_BUCKET_KEYS, factBucket, factPath, listFacts, readFact } from "./canon-facts.ts";
import { checksum } from "./canonical.ts";
import { applyDeltas, type Delta } from "./delta.ts";
import { simulateCampaign } from "./testing/campaign.ts";
import { seedUniverse } from "./testing/universe.ts";
import { STATE_VERSION, upcastState, type CanonFact } from "./state.ts";
import { downcastToV1, upgradeDelta, upgradeDeltas } from "./upgrade.ts";

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
  const state = seedUniverse();
  const { factBuckets: _buckets, ...canon } = state.canon;
  return { ...state, version: 1, canon: { ...canon, facts } };
}

describe("canon fact buckets", () => {
  it("put each fact in the bucket its id hashes to, spread over all of them", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `relationship-npc-${i}-mara`);
    const sizes = new Map<string, number>();
    for (const id of ids) sizes.set(factBucket(id), (sizes.get(factBucket(id)) ?? 0) + 1);
    expect(sizes.size).toBe(FACT_BUCKET_KEYS.length);
    // about 31 a bucket: none holds more than twice its share
    expect(Math.max(...sizes.values())).toBeLessThan((2 * ids.length) / FACT_BUCKET_KEYS.length);
    expect(factPath("a/b", "value")).toBe(`/canon/factBuckets/${factBucket("a/b")}/a~1b/value`);
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
    const copied = FACT_BUCKET_KEYS.filter(
      (key) => after.canon.factBuckets[key] !== before.canon.factBuckets[key],
    );
    expect(copied).toEqual([factBucket("new")]);
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
      const match = /^\/canon\/factBuckets\/[0-9a-f]{2}(\/.*)$/.exec(delta.path);
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
