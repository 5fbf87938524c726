import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksum, checksumOfJson, checksumOfTexts } from "./canonical.ts";
import { CanonicalTexts, freezeShared, parseCut } from "./canonical-texts.ts";
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

  it("parses a cut text part by part into the state, whose parts' texts then serve the checksums of the states after", () => {
    const campaign = simulateCampaign({ seed: 5, turns: 600 });
    let state = freezeShared(campaign.genesis);
    // what a reader of snapshots keeps: the buckets it parsed, each known by its text
    const reader = new CanonicalTexts();
    let read: unknown = null;
    for (const turn of campaign.turns) {
      state = freezeShared(applyDeltas(state, turn.deltas));
      read = read === null ? null : freezeShared(applyDeltas(read, turn.deltas));
      if (read !== null && turn.position % 50 === 0) expect(reader.checksum(read)).toBe(checksum(state));
      if (turn.position % 200 !== 0) continue;
      const cut = new CanonicalTexts().cut(state, 200);
      const texts = cut.parts.map((part) => part.text);
      const parsed = parseCut(cut.pieces, texts);
      expect(parsed).not.toBeNull();
      expect(parsed!.value).toEqual(state);
      expect(canonicalJson(parsed!.value)).toBe(canonicalJson(state));
      parsed!.buckets.forEach((bucket, i) => {
        expect(canonicalJson(bucket)).toBe(texts[i]);
        reader.knowPart(bucket, texts[i]!);
      });
      read = freezeShared(parsed!.value);
      // a text made of pieces hashes as the pieces joined
      const joined: string[] = [cut.pieces[0]!];
      texts.forEach((text, i) => joined.push(text, cut.pieces[i + 1]!));
      expect(checksumOfTexts(joined)).toBe(checksumOfJson(joined.join("")));
      expect(checksumOfTexts(joined)).toBe(checksum(state));
    }
    expect(read).not.toBeNull();
  });

  it("takes a known part's text as given, and places each part only where a bucket stands, exactly once", () => {
    const buckets = Object.fromEntries(
      Array.from({ length: BUCKET_COUNT }, (_, i) => [`b${i.toString(16).padStart(2, "0")}`, { n: i }]),
    );
    const state = freezeShared({ world: { npcBuckets: buckets }, n: 3 });
    const texts = new CanonicalTexts();
    const cut = texts.cut(state, 0);
    const parts = cut.parts.map((part) => part.text);
    // the text given for a bucket is what every state holding that bucket is written with
    const other = new CanonicalTexts();
    other.knowPart(state.world.npcBuckets.b00!, '{"n":"known"}');
    expect(other.json(state)).toBe(canonicalJson(state).replace('"b00":{"n":0}', '"b00":{"n":"known"}'));
    expect(parseCut(cut.pieces, parts)!.value).toEqual(state);
    // a part too many or too few
    expect(parseCut(cut.pieces, parts.slice(1))).toBeNull();
    expect(parseCut(cut.pieces.slice(1), parts)).toBeNull();
    // a number where a bucket stands, which reads as a part's place: that part twice
    const numbered = texts.cut(freezeShared({ world: { npcBuckets: { ...buckets, b05: 1 } }, n: 3 }), 0);
    expect(
      parseCut(
        numbered.pieces,
        numbered.parts.map((part) => part.text),
      ),
    ).toBeNull();
    // a part's place that is no bucket's
    expect(parseCut(['{"n":', "}"], ["{}"])).toBeNull();
    // a part that is no container
    expect(
      parseCut(
        cut.pieces,
        parts.map((text, i) => (i === 5 ? "7" : text)),
      ),
    ).toBeNull();
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
