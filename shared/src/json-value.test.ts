import { describe, expect, it } from "vitest";
import { deltaSchema } from "./delta.ts";
import { JSON_VALUE_LIMITS, jsonValueProblem, STORABLE } from "./json-value.ts";

const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

describe("the JSON-value rule", () => {
  it("accepts plain, finite JSON", () => {
    expect(jsonValueProblem({ a: [1, -2.5, "x", null, true, { b: {} }], fox: "🦊" })).toBeNull();
    expect(jsonValueProblem(nested(JSON_VALUE_LIMITS.depthMax - 1))).toBeNull();
  });

  it("refuses what cannot be stored or checksummed the same way everywhere", () => {
    const hostile: unknown[] = [
      Infinity,
      -Infinity,
      Number.NaN,
      { n: [1, Number.NaN] },
      5n,
      undefined,
      { a: undefined },
      () => 1,
      Symbol("s"),
      new Uint8Array(2),
      new Date(0),
      new Map(),
      JSON.parse('{"__proto__":{"polluted":true}}'),
      { constructor: 1 },
      { deeper: { prototype: {} } },
      nested(JSON_VALUE_LIMITS.depthMax + 1),
      Array.from({ length: JSON_VALUE_LIMITS.nodesMax + 1 }, () => 0),
      "x".repeat(JSON_VALUE_LIMITS.stringMax + 1),
      "nul \u0000",
      "lone \ud800 high",
      "lone \udc00 low",
      { "key\u0000": 1 },
    ];
    for (const value of hostile) expect(jsonValueProblem(value), String(value)).not.toBeNull();
  });

  it("bounds only what a client sends: the state's own values may be large", () => {
    const large = Array.from({ length: JSON_VALUE_LIMITS.nodesMax * 2 }, (_, i) => i);
    expect(jsonValueProblem(large)).not.toBeNull();
    expect(jsonValueProblem(large, STORABLE)).toBeNull();
    expect(jsonValueProblem([Infinity], STORABLE)).not.toBeNull();
  });

  it("does not overflow the stack on hostile nesting", () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonValueProblem(deep)).toMatch(/nested deeper/);
  });

  it("is the rule of a delta's value and path", () => {
    expect(deltaSchema.safeParse({ op: "set", path: "/canon/facts/f/value", value: { n: 1 } }).success).toBe(
      true,
    );
    // at the limit of tokens, and names that only hold a forbidden one, pass
    for (const path of [`/canon${"/x".repeat(23)}`, "/canon/facts/prototypes/value", "/canon/facts/a~1b/~0c"])
      expect(deltaSchema.safeParse({ op: "set", path, value: 1 }).success, path).toBe(true);
    for (const delta of [
      { op: "set", path: "/canon/facts/f/value", value: Number.NaN },
      { op: "increment", path: "/world/factions/f/standing", value: Infinity },
      { op: "set", path: "/canon/facts/f/value/constructor", value: 1 },
      { op: "set", path: "/canon/facts/f/value/__proto__", value: 1 },
      { op: "set", path: `/canon${"/x".repeat(30)}`, value: 1 },
      { op: "set", path: `/canon${"/x".repeat(24)}`, value: 1 },
      { op: "set", path: "/canon/facts/f/value/constructor/x", value: 1 },
    ])
      expect(deltaSchema.safeParse(delta).success, JSON.stringify(delta.path)).toBe(false);
  });
});
