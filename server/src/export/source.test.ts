import { describe, expect, it } from "vitest";
import { holdsOldCanonPath, OLD_CANON_PATH } from "./source.ts";

describe("holdsOldCanonPath", () => {
  it("finds a version 1 canon path where the pattern does, and nothing else", () => {
    const cases: Array<[string, boolean]> = [
      ['{"path":"/canon","value":{}}', true],
      ['{"path":"/canon/facts"}', true],
      ['{"path":"/canon/facts/legend"}', true],
      ['"/canon/factBuckets/07/legend"', false],
      ['{"path":"/canon/factBuckets/00/f","note":"x/canon"}', false],
      ["/canon", false],
      ['/canon"', false],
      ['"/canon', false],
      ['"/cano"/canon/facts', true],
      ['"/canon/fact"', false],
      ['a"/canon/factBuckets/1"b"/canon/facts/c"', true],
      ['"/canon/canon"', false],
      ['""/canon"', true],
      ["", false],
    ];
    for (const [text, old] of cases) {
      expect(holdsOldCanonPath(text), text).toBe(old);
      expect(OLD_CANON_PATH.test(text), text).toBe(old);
    }
  });

  it("agrees with the pattern on pages made of its pieces", () => {
    const pieces = ['"', "/canon", "/facts", "/factBuckets", '"/canon', "/", "x", '":', "canon", "facts"];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const length = 1 + (next() % 12);
      for (let j = 0; j < length; j++) text += pieces[next() % pieces.length];
      expect(holdsOldCanonPath(text), text).toBe(OLD_CANON_PATH.test(text));
    }
  });
});
