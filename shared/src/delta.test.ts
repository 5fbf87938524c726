import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyDeltas,
  applyDeltasInPlace,
  DeltaError,
  invertDeltas,
  pointer,
  readPointer,
  type Delta,
  type DeltaErrorCode,
} from "./delta.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

const isContainer = (value: Json | undefined): value is Container =>
  typeof value === "object" && value !== null;

/** Keys with the characters JSON Pointer must escape, and dots, but never "__proto__". */
const key = fc
  .oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a/b", "~0", "x.y", "~1/", ""))
  .filter((k) => k !== "__proto__");
const leaf = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
);
const { tree } = fc.letrec<{ tree: Json }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("tree"), { maxLength: 4 }),
    fc.dictionary(key, tie("tree"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const document = fc.dictionary(key, tree, { minKeys: 1, maxKeys: 5, noNullPrototype: true });

/** A recipe for one delta: which container (by successive picks), which op, which member, what value. */
const intent = fc.record({
  path: fc.array(fc.nat(), { maxLength: 4 }),
  op: fc.nat(4),
  member: fc.nat(),
  value: tree,
  amount: fc.integer({ min: -50, max: 50 }),
});

/** Turns recipes into deltas that are valid in sequence against `state`, with their true `prev`. */
function materialise(
  state: Json,
  intents: ReadonlyArray<{ path: number[]; op: number; member: number; value: Json; amount: number }>,
): Delta[] {
  const deltas: Delta[] = [];
  let current = state;
  for (const { path, op, member, value, amount } of intents) {
    const tokens: string[] = [];
    let node = current as Container;
    for (const choice of path) {
      const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
      const children = keys.filter((k) => isContainer((node as Record<string, Json>)[k]));
      if (children.length === 0 || choice % (children.length + 1) === children.length) break;
      const next = children[choice % (children.length + 1)]!;
      tokens.push(next);
      node = (node as Record<string, Json>)[next] as Container;
    }
    const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
    const numeric = keys.filter((k) => typeof (node as Record<string, Json>)[k] === "number");
    let delta: Delta | null = null;
    const at = (k: string) => pointer(...tokens, k);
    if (op === 4 && numeric.length > 0) {
      const k = numeric[member % numeric.length]!;
      delta = { op: "increment", path: at(k), value: amount, prev: (node as Record<string, Json>)[k] };
    } else if (Array.isArray(node)) {
      if (op === 1 && node.length > 0)
        delta = { op: "remove", path: at(String(member % node.length)), prev: node[member % node.length] };
      else if (op === 2 && node.length > 0)
        delta = {
          op: "set",
          path: at(String(member % node.length)),
          value,
          prev: node[member % node.length],
        };
      else delta = { op: "push", path: at(String(member % (node.length + 1))), value };
    } else if (op === 1 && keys.length > 0) {
      const k = keys[member % keys.length]!;
      delta = { op: "unset", path: at(k), prev: node[k] };
    } else {
      const k = keys.length > 0 && op === 2 ? keys[member % keys.length]! : `k${member % 7}`;
      delta = Object.prototype.hasOwnProperty.call(node, k)
        ? { op: "set", path: at(k), value, prev: node[k] }
        : { op: "set", path: at(k), value };
    }
    deltas.push(delta);
    current = applyDeltas(current, [delta]);
  }
  return deltas;
}

describe("applyDeltas / invertDeltas", () => {
  it("apply(apply(s, d), invert(d)) equals s for random valid delta lists, and s is never mutated", () => {
    const opsSeen = new Set<string>();
    fc.assert(
      fc.property(document, fc.array(intent, { minLength: 1, maxLength: 25 }), (state, intents) => {
        const frozen = structuredClone(state);
        const deltas = materialise(state, intents);
        for (const delta of deltas) opsSeen.add(delta.op);
        const changed = applyDeltas(state, deltas);
        const restored = applyDeltas(changed, invertDeltas(deltas));
        expect(restored).toStrictEqual(frozen);
        expect(state).toStrictEqual(frozen);
      }),
      { seed: 20261121, numRuns: 400 },
    );
    // The generator really exercised every kind of change.
    expect([...opsSeen].sort()).toEqual(["increment", "push", "remove", "set", "unset"]);
  });

  it("applying a list at once equals applying it one delta at a time", () => {
    fc.assert(
      fc.property(document, fc.array(intent, { minLength: 1, maxLength: 15 }), (state, intents) => {
        const deltas = materialise(state, intents);
        let stepwise: Json = state;
        for (const delta of deltas) stepwise = applyDeltas(stepwise, [delta]);
        expect(applyDeltas(state, deltas)).toStrictEqual(stepwise);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it("applying in place to an owned copy gives the same document, and the same error", () => {
    fc.assert(
      fc.property(document, fc.array(intent, { minLength: 1, maxLength: 25 }), (state, intents) => {
        const deltas = materialise(state, intents);
        const owned = structuredClone(state);
        expect(applyDeltasInPlace(owned, structuredClone(deltas))).toStrictEqual(applyDeltas(state, deltas));
      }),
      { seed: 11, numRuns: 300 },
    );
    const broken = { op: "increment", path: "/missing/deep", value: 1 } as const;
    expect(() => applyDeltasInPlace({ a: 1 }, [broken])).toThrow(
      expect.objectContaining({ code: "path_not_found" }) as Error,
    );
  });

  it("applying in place copies the frozen containers a document shares, changing none of them", () => {
    fc.assert(
      fc.property(document, fc.array(intent, { minLength: 1, maxLength: 25 }), (state, intents) => {
        const deltas = materialise(state, intents);
        // a document of its own whose containers from the second level down are shared, frozen
        const shared = structuredClone(state);
        const owned = shallowFrozen(shared);
        const before = JSON.stringify(shared);
        expect(applyDeltasInPlace(owned, structuredClone(deltas))).toStrictEqual(applyDeltas(state, deltas));
        expect(JSON.stringify(shared)).toBe(before);
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it("shares untouched branches with the input", () => {
    const state = { a: { deep: [1, 2] }, b: { n: 1 } };
    const next = applyDeltas(state, [{ op: "increment", path: "/b/n", value: 2, prev: 1 }]);
    expect(next.a).toBe(state.a);
    expect(next.b).toEqual({ n: 3 });
    expect(state.b).toEqual({ n: 1 });
  });

  it("addresses keys with '/', '~' and '.' through JSON Pointer escapes", () => {
    const next = applyDeltas({ "a/b": { "~x.y": 1 } }, [
      { op: "set", path: pointer("a/b", "~x.y"), value: 2, prev: 1 },
    ]);
    expect(next).toEqual({ "a/b": { "~x.y": 2 } });
    expect(readPointer(next, "/a~1b/~0x.y")).toBe(2);
  });
});

describe("delta errors", () => {
  const state = { name: "Mara", n: 1, list: [1, 2], nested: { inner: {} } };
  const cases: Array<[string, Delta, DeltaErrorCode]> = [
    ["a missing parent", { op: "set", path: "/missing/child", value: 1 }, "path_not_found"],
    ["unsetting a missing member", { op: "unset", path: "/nope" }, "path_not_found"],
    [
      "incrementing a missing member",
      { op: "increment", path: "/nope", value: 1, prev: 0 },
      "path_not_found",
    ],
    ["incrementing a string", { op: "increment", path: "/name", value: 1, prev: "Mara" }, "wrong_type"],
    ["descending through a number", { op: "set", path: "/n/x", value: 1 }, "wrong_type"],
    ["pushing onto an object", { op: "push", path: "/nested/inner/0", value: 1 }, "wrong_type"],
    ["unsetting an array element", { op: "unset", path: "/list/0" }, "wrong_type"],
    ["a non-numeric array index", { op: "set", path: "/list/first", value: 1 }, "invalid_path"],
    ["an index past the end", { op: "remove", path: "/list/2", prev: 3 }, "path_not_found"],
    ["a push past the end", { op: "push", path: "/list/3", value: 3 }, "path_not_found"],
    ["an increment by a non-number", { op: "increment", path: "/n", value: "1", prev: 1 }, "invalid_value"],
    ["an increment by infinity", { op: "increment", path: "/n", value: Infinity, prev: 1 }, "invalid_value"],
    [
      "a __proto__ member",
      { op: "set", path: "/nested/__proto__", value: { polluted: true } },
      "invalid_path",
    ],
  ];

  it.each(cases)("%s throws DeltaError %s… and leaves the state alone", (_, delta, code) => {
    const before = structuredClone(state);
    let caught: unknown;
    try {
      applyDeltas(state, [delta]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DeltaError);
    expect((caught as DeltaError).code).toBe(code);
    expect((caught as DeltaError).delta).toBe(delta);
    expect(state).toStrictEqual(before);
  });
});

/** A copy of the document's top container holding its members, each frozen all the way down. */
function shallowFrozen(value: Json): Json {
  const deepFreeze = (inner: unknown): void => {
    if (inner === null || typeof inner !== "object") return;
    Object.freeze(inner);
    for (const member of Object.values(inner)) deepFreeze(member);
  };
  if (value === null || typeof value !== "object") return value;
  for (const member of Object.values(value)) deepFreeze(member);
  return Array.isArray(value) ? [...value] : { ...value };
}
