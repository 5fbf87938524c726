import { describe, expect, it } from "vitest";
import { clip, keepHead, keepTail, oneLine, sentence } from "./text.ts";

describe("text helpers", () => {
  it("given text with newlines, when made one line, then whitespace collapses", () => {
    expect(oneLine("  a\n\n b\tc ")).toBe("a b c");
  });

  it("given an emoji at the cut, when clipped, then no half surrogate pair is left", () => {
    expect(clip("ab😀cd", 4)).toBe("ab…");
    expect(clip("short", 10)).toBe("short");
  });

  it("given a fragment, when made a sentence, then it ends with a full stop once", () => {
    expect(sentence("Mara wins")).toBe("Mara wins.");
    expect(sentence('He said "go!"')).toBe('He said "go!"');
  });

  it("given paragraphs past the bound, when the tail is kept, then it starts at a paragraph", () => {
    expect(keepTail("First one.\n\nSecond one.\n\nThird.", 20)).toBe("Second one.\n\nThird.");
    expect(keepTail("One. Two. Three. Four.", 12)).toBe("Three. Four.");
    expect(keepTail("abcdefghij", 4)).toBe("ghij");
  });

  it("given sentences past the bound, when the head is kept, then it ends after a whole sentence", () => {
    expect(keepHead("One. Two. Three.", 10)).toBe("One. Two.");
    expect(keepHead("Onelongword", 5)).toBe("Onel…");
  });
});
