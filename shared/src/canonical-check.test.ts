import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.ts";
import { isCanonicalJson } from "./canonical-check.ts";

/** What isCanonicalJson answers, by parsing and writing again. */
function reference(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** Values whose strings hold any code unit: controls, lone surrogates and pairs included. */
const values = fc.jsonValue({ stringUnit: "binary" });

/** A canonical text changed at one place, as a hand editing an export might. */
const edited = fc
  .tuple(values, fc.nat(), fc.constantFrom(" ", "\n", ",", '"', "\\", "0", "-", "e", "}", "]", "\\u0041"))
  .map(([value, at, inserted]) => {
    const text = canonicalJson(value);
    const i = at % (text.length + 1);
    return text.slice(0, i) + inserted + text.slice(i);
  });

describe("isCanonicalJson", () => {
  it("says what parsing and writing again would, on canonical texts, edited ones and others", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          values.map((value) => canonicalJson(value)),
          values.map((value) => JSON.stringify(value)),
          values.map((value) => JSON.stringify(value, null, 1)),
          edited,
          fc.json(),
          fc.string({ unit: "binary" }),
        ),
        (text) => {
          expect(isCanonicalJson(text)).toBe(reference(text));
        },
      ),
      { seed: 5_151, numRuns: 3_000 },
    );
  });

  it("refuses what a hand-edited snapshot holds: whitespace, order, a key twice, escapes, number forms", () => {
    const canonical = '{"a":[1,2.5,-3,1e+21,"x\\n\\"y\\u0001\\ud800"],"b":{"":null,"mode":"scene"},"c":true}';
    expect(isCanonicalJson(canonical)).toBe(true);
    for (const text of [
      '{"a":1, "b":2}',
      '{"a":1,"b":2} ',
      '{"b":1,"a":2}',
      '{"mode":"scene","mode":"conflict"}',
      '{"mode":"conflict","mode":"conflict"}',
      '{"a":"\\u0041"}',
      '{"a":"\\/"}',
      '{"a":"\\u000A"}',
      '{"a":"\\ud83d\\ude00"}',
      '{"a":1.0}',
      '{"a":1E21}',
      '{"a":-0}',
      '{"a":01}',
      '{"a":1}{"b":2}',
      '{"a":1},"state":{"b":2}',
      '{"a":1',
      "",
    ]) {
      expect.soft(isCanonicalJson(text), text).toBe(false);
      expect.soft(reference(text), text).toBe(false);
    }
    // keys in code-unit order, escaped or not, array-index keys among them
    expect(isCanonicalJson('{"\\n":2,"10":0,"2":1,"a":3,"é":5}')).toBe(true);
    expect(isCanonicalJson('{"2":1,"10":0}')).toBe(false);
  });

  it("reads a document nested deeper than a stack goes, without throwing", () => {
    const depth = 200_000;
    expect(isCanonicalJson(`${"[".repeat(depth)}${"]".repeat(depth)}`)).toBe(true);
    expect(isCanonicalJson(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`)).toBe(true);
    expect(isCanonicalJson("[".repeat(depth))).toBe(false);
  });
});
