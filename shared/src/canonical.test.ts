import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksum, writeCanonical } from "./canonical.ts";
import { applyDeltas } from "./delta.ts";
import { createRandom } from "./dice.ts";
import type { Random } from "./dice.ts";

/** The same value with every object's keys inserted in a shuffled order. */
function reordered(value: unknown, random: Random): unknown {
  if (Array.isArray(value)) return value.map((item) => reordered(item, random));
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = reordered((value as Record<string, unknown>)[key], random);
  return out;
}

describe("canonical JSON and checksums", () => {
  it("checksum ignores key order, at every depth", () => {
    let reorderedSomething = false;
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const shuffled = reordered(value, createRandom(seed));
        if (JSON.stringify(shuffled) !== JSON.stringify(value)) reorderedSomething = true;
        expect(checksum(shuffled)).toBe(checksum(value));
      }),
      { seed: 424242, numRuns: 300 },
    );
    expect(reorderedSomething).toBe(true);
  });

  it("checksum tells different documents apart", () => {
    expect(checksum({ a: 1, b: [1, 2] })).not.toBe(checksum({ a: 1, b: [2, 1] }));
    expect(checksum({ a: 1 })).not.toBe(checksum({ a: "1" }));
    expect(checksum({ a: null })).not.toBe(checksum({}));
  });

  it("writes sorted keys without whitespace and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, "x"], c: true }, u: undefined })).toBe(
      '{"a":{"c":true,"d":[1,"x"]},"b":1}',
    );
  });

  it("is a sha256 hex digest", () => {
    // sha256 of the two bytes "{}"
    expect(checksum({})).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  });

  it("refuses numbers JSON cannot carry", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: { "7": 1, x: [Infinity] } })).toThrow(TypeError);
  });

  it("writes the same bytes on the fast path as the reference writer, array-index keys included", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const reference = writeCanonical(value);
        expect(canonicalJson(value)).toBe(reference);
        // objects already in key order (parsed from canonical JSON) are written without a copy
        expect(canonicalJson(JSON.parse(reference))).toBe(reference);
        // and a document only partly in order (a key added to a parsed snapshot) still sorts
        const partly = JSON.parse(reference) as unknown;
        if (partly !== null && typeof partly === "object" && !Array.isArray(partly))
          (partly as Record<string, unknown>)[" added"] = seed;
        expect(canonicalJson(partly)).toBe(writeCanonical(partly));
      }),
      { seed: 97, numRuns: 500 },
    );
    const indexed = { b: { "10": "x", "2": "y", a: 1 }, a: [{ "0": null }] };
    expect(canonicalJson(indexed)).toBe('{"a":[{"0":null}],"b":{"10":"x","2":"y","a":1}}');
  });

  it("keeps a member named __proto__, so a checksum equals a replay's", () => {
    // JSON.parse makes "__proto__" an own member, as a stored state or delta would have it
    const state = JSON.parse('{"b":1,"facts":{"f":{"__proto__":{"x":1},"a":[2]}},"a":0}') as unknown;
    const json = canonicalJson(state);
    expect(json).toBe('{"a":0,"b":1,"facts":{"f":{"__proto__":{"x":1},"a":[2]}}}');
    expect(json).toBe(writeCanonical(state));
    const replayed = applyDeltas(JSON.parse('{"a":0,"b":1,"facts":{}}') as unknown, [
      { op: "set", path: "/facts/f", value: JSON.parse('{"a":[2],"__proto__":{"x":1}}') as unknown },
    ]);
    expect(checksum(replayed)).toBe(checksum(state));
    expect(checksum(JSON.parse(json))).toBe(checksum(state));
  });
});
