import { describe, expect, it } from "vitest";
import { holdsOldPath, OLD_PATH } from "./source.ts";

describe("holdsOldPath", () => {
  it("finds an older version's path where the pattern does, and nothing else", () => {
    const cases: Array<[string, boolean]> = [
      ['{"path":"/canon","value":{}}', true],
      ['{"path":"/canon/facts"}', true],
      ['{"path":"/canon/facts/legend"}', true],
      ['"/canon/factBuckets/07/legend"', true],
      ['"/canon/factBuckets/b07/legend"', false],
      ['"/canon/factBuckets"', true],
      ['"/canon/factBuckets/3f"', true],
      ['"/canon/factBuckets/3g/x"', false],
      ['"/canon/factBuckets/0"', false],
      ['{"path":"/canon/factBuckets/b00/f","note":"x/canon"}', false],
      ["/canon", false],
      ['/canon"', false],
      ['"/canon', false],
      ['"/cano"/canon/facts', true],
      ['"/canon/fact"', false],
      ['a"/canon/factBuckets/b1"b"/canon/facts/c"', true],
      ['"/canon/canon"', false],
      ['""/canon"', true],
      ["", false],
      ['{"path":"/world","value":{}}', true],
      ['{"path":"/world/npcs/brannoc/attitudes/mara"}', true],
      ['{"path":"/world/locations"}', true],
      ['{"path":"/quests/q1/state"}', true],
      ['{"path":"/quests"}', true],
      ['"/world/npcBuckets/07/brannoc"', false],
      ['"/world/locationBuckets/00/cove"', false],
      ['"/questBuckets/3f/q1"', false],
      ['"/world/majorEvents/0"', false],
      ['"/world/factions/wardens"', false],
      ['"/questsX"', false],
    ];
    for (const [text, old] of cases) {
      expect(holdsOldPath(text), text).toBe(old);
      expect(OLD_PATH.test(text), text).toBe(old);
    }
  });

  it("agrees with the pattern on pages made of its pieces", () => {
    const pieces = [
      '"',
      "/canon",
      "/facts",
      "/factBuckets",
      "/0a",
      "/b0a",
      "/3",
      '"/canon',
      "/",
      "x",
      '":',
      "canon",
      "facts",
      "/world",
      "/npcs",
      "/npcBuckets",
      "/locations",
      "/quests",
      "/questBuckets",
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const length = 1 + (next() % 12);
      for (let j = 0; j < length; j++) text += pieces[next() % pieces.length];
      expect(holdsOldPath(text), text).toBe(OLD_PATH.test(text));
    }
  });
});
