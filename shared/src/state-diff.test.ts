import { describe, expect, it } from "vitest";
import { differingPaths } from "./state-diff.ts";

describe("differingPaths", () => {
  it("given equal documents, when compared, then nothing differs", () => {
    expect(differingPaths({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });

  it("given changed, added and removed members, when compared, then each is named as a pointer", () => {
    const before = { world: { npcs: { "a/b": { name: "Ana" } } }, list: [1, 2], gone: true };
    const after = { world: { npcs: { "a/b": { name: "Ann" } } }, list: [1], extra: 0 };
    expect(differingPaths(before, after)).toEqual(["/extra", "/gone", "/list/1", "/world/npcs/a~1b/name"]);
  });

  it("given many differences, when a limit is set, then at most that many are named", () => {
    expect(differingPaths({ a: 1, b: 2, c: 3 }, { a: 0, b: 0, c: 0 }, 2)).toHaveLength(2);
  });
});
