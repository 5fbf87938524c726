import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksum } from "./canonical.ts";
import { CanonicalTexts, freezeShared } from "./canonical-texts.ts";
import { BUCKET_COUNT } from "./buckets.ts";
import { applyDeltas } from "./delta.ts";
import { simulateCampaign } from "./testing/campaign.ts";

describe("CanonicalTexts", () => {
  it("writes the bytes canonicalJson writes, for any JSON value, array-index keys and wide records included", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const texts = new CanonicalTexts();
        const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${(i * 7) % 40}`, { a, i }]));
        const value = freezeShared({ z: a, "10": { wide, deep: { deeper: { b, "3": [a] } } }, a: [b, wide] });
        expect(texts.json(value)).toBe(canonicalJson(value));
        // twice: the second time from the texts kept
        expect(texts.json(value)).toBe(canonicalJson(value));
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("gives every state of a played campaign, derived one from another, the checksum of its canonical JSON", () => {
    const campaign = simulateCampaign({ seed: 3, turns: 600 });
    const texts = new CanonicalTexts();
    let state = freezeShared(campaign.genesis);
    for (const turn of campaign.turns) {
      state = freezeShared(applyDeltas(state, turn.deltas));
      if (turn.position % 50 === 0) expect(texts.checksum(state)).toBe(checksum(state));
    }
    expect(texts.json(state)).toBe(canonicalJson(campaign.final));
  });

  it("cuts a state's text around its buckets, which states that share a bucket share", () => {
    const campaign = simulateCampaign({ seed: 3, turns: 600 });
    const texts = new CanonicalTexts();
    let state = freezeShared(campaign.genesis);
    let before: Set<object> | null = null;
    for (const turn of campaign.turns) {
      state = freezeShared(applyDeltas(state, turn.deltas));
      if (turn.position % 100 !== 0) continue;
      const cut = texts.cut(state);
      const joined = cut.parts.reduce(
        (text, part, i) => text + part.text + cut.pieces[i + 1]!,
        cut.pieces[0]!,
      );
      expect(joined).toBe(canonicalJson(state));
      // every bucket of the four bucketed records, each written as canonicalJson writes it
      expect(cut.parts).toHaveLength(4 * BUCKET_COUNT);
      for (const part of cut.parts.slice(0, 3)) expect(part.text).toBe(canonicalJson(part.container));
      const containers = new Set(cut.parts.map((part) => part.container));
      // a hundred turns change some buckets, not most
      if (before)
        expect([...containers].filter((part) => before!.has(part)).length).toBeGreaterThan(BUCKET_COUNT * 2);
      before = containers;
    }
    // a bucket shorter than the least part stays in the text around it
    const short = texts.cut(state, 300);
    expect(short.parts.length).toBeGreaterThan(0);
    expect(short.parts.length).toBeLessThan(4 * BUCKET_COUNT);
    for (const part of short.parts) expect(part.text.length).toBeGreaterThanOrEqual(300);
    expect(
      short.parts.reduce((text, part, i) => text + part.text + short.pieces[i + 1]!, short.pieces[0]!),
    ).toBe(canonicalJson(state));
    // a state without bucketed records is one piece
    expect(texts.cut(freezeShared({ a: [1, { b: 2 }] }))).toEqual({
      pieces: ['{"a":[1,{"b":2}]}'],
      parts: [],
    });
  });

  it("freezes only what is not frozen yet, so a changed member can never hide behind a kept text", () => {
    const base = freezeShared({ world: { npcs: { a: { name: "A" } } } });
    expect(() => {
      base.world.npcs.a.name = "B";
    }).toThrow(TypeError);
    const next = applyDeltas(base, [{ op: "set", path: "/world/npcs/a/name", value: "B", prev: "A" }]);
    expect(Object.isFrozen(next)).toBe(false);
    freezeShared(next);
    expect(Object.isFrozen(next.world.npcs.a)).toBe(true);
    expect(next.world).not.toBe(base.world);
  });
});
