import { describe, expect, it } from "vitest";
import { z } from "zod";
import { characterSheetSchema, storedCharacterSheetSchema } from "./character.ts";
import { commandSchema } from "./command.ts";
import { escapeControls, nameFromWords, oneLine, prose, visibleName } from "./plain-text.ts";

const name = oneLine(z.string());
const text = prose(z.string());

describe("names and texts others read hold no terminal controls", () => {
  it("a name refuses control characters, line breaks included, and bidirectional controls", () => {
    for (const bad of [
      "Mal\x1b[8mory",
      "two\nlines",
      "tab\there",
      "del\x7f",
      "c1\x9b2J",
      "\u202Eeulav",
      "\u2066iso\u2069",
    ])
      expect(name.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    expect(name.parse("Mara, wandering cartographer — “the Salt” 🌊\u200B")).toBeTruthy();
  });

  it("a name holds at least one visible character: zero-width, format and filler characters alone are none", () => {
    const visible = visibleName(z.string().trim().min(1));
    for (const blank of ["\u200B\u200B", " \u200D ", "\u2060", "\uFEFF\u200C", "\u00AD", "\u3164", "\uFE0F"])
      expect(visible.safeParse(blank).success, JSON.stringify(blank)).toBe(false);
    for (const named of ["Mara\u200B", "👩\u200D🌾", "Ø"]) expect(visible.parse(named)).toBe(named);
    expect(visible.safeParse("Mal\x1b[8mory").success).toBe(false);
  });

  it("prose keeps line breaks and tabs and refuses the rest", () => {
    expect(text.parse("I wave.\n\tThen I run.")).toBe("I wave.\n\tThen I run.");
    for (const bad of ["I wave.\x1b[2J", "\x1b]0;owned\x07", "carriage\rreturn", "\u202Emoc"])
      expect(text.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it("a sheet and a custom turn are held to it; a sheet stored before the rule still loads", () => {
    const sheet = { name: "Mal\x1b[8mory", highConcept: "Thief", trouble: "Debt" };
    expect(characterSheetSchema.safeParse(sheet).success).toBe(false);
    expect(storedCharacterSheetSchema.parse(sheet).name).toBe("Mal\x1b[8mory");
    const custom = { kind: "custom", characterId: "mara", text: "I wave.\x1b[2J" };
    expect(commandSchema.safeParse(custom).success).toBe(false);
  });

  it("escaped for a terminal, each control is shown as \\u{…}; with lines, line breaks and tabs stay", () => {
    expect(escapeControls("\x1b]0;t\x07\x1b[2JRED\u202Ex\ny")).toBe(
      "\\u{1b}]0;t\\u{7}\\u{1b}[2JRED\\u{202e}x\\u{a}y",
    );
    expect(escapeControls("a\n\tb\x1b", { lines: true })).toBe("a\n\tb\\u{1b}");
  });
});

describe("a name made of someone's words", () => {
  it("keeps words that make a name as they are, cut between characters", () => {
    expect(nameFromWords("Thick  Fog", 200)).toBe("Thick  Fog");
    expect(nameFromWords("ab🗡️", 3)).toBe("ab");
    expect(nameFromWords("ab🗡️", 4)).toBe("ab🗡");
    expect(nameFromWords("x".repeat(199) + "🗡️", 200)).toBe("x".repeat(199));
  });

  it("makes lines one, and gives nothing for words with nothing visible", () => {
    expect(nameFromWords("the trapdoor\n\tunder the altar", 200)).toBe("the trapdoor under the altar");
    expect(nameFromWords("\n \t\n", 200)).toBe("");
    expect(nameFromWords("\u200B\u200B", 200)).toBe("");
    expect(nameFromWords("", 200)).toBe("");
    for (const words of ["a\nb", "\u202Eevil", "x".repeat(300) + "\n"])
      expect(oneLine(z.string()).safeParse(nameFromWords(words, 200)).success).toBe(true);
  });
});
