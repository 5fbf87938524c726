import { describe, expect, it } from "vitest";
import { inlineSpans, markdownInline, markdownLiteral } from "./markdown-text.ts";

describe("others' words in Loom's Markdown", () => {
  it("escape HTML tags, entities, links and footnote references, and keep emphasis", () => {
    expect(
      markdownLiteral('<img src=x onerror="alert(1)"> [x](javascript:alert(1)) [^1] &#60; *sighs*'),
    ).toBe('\\<img src=x onerror="alert(1)"> \\[x\\](javascript:alert(1)) \\[^1\\] &amp;#60; *sighs*');
    // what is no markup stays as typed, for a reader of the plain file
    expect(markdownLiteral("5 < 6 & 7 > 2, Mara & Bo")).toBe("5 < 6 & 7 > 2, Mara & Bo");
    expect(markdownLiteral("C:\\maps")).toBe("C:\\\\maps");
    expect(markdownInline("Mara *the* [Bold] &lt;")).toBe("Mara \\*the\\* \\[Bold\\] &amp;lt;");
  });

  it("read back as the words typed, an escaped star neither opening nor closing emphasis", () => {
    const name = "Ma*ra [x](y) &lt; C:\\";
    expect(inlineSpans(`- **${markdownInline(name)}** (wary) — ${markdownLiteral("a *quiet* man")}`)).toEqual(
      [
        { kind: "text", text: "- " },
        { kind: "strong", text: name },
        { kind: "text", text: " (wary) — a " },
        { kind: "em", text: "quiet" },
        { kind: "text", text: " man" },
      ],
    );
    expect(inlineSpans("\\*not emphasis*")).toEqual([{ kind: "text", text: "*not emphasis*" }]);
    // a typed backslash is kept, and what follows it is read as typed
    expect(inlineSpans(markdownLiteral("\\*quiet*"))).toEqual([
      { kind: "text", text: "\\" },
      { kind: "em", text: "quiet" },
    ]);
    expect(inlineSpans(`*${markdownInline("Mara*")}, at turn 3.*`)).toEqual([
      { kind: "em", text: "Mara*, at turn 3." },
    ]);
    expect(inlineSpans("")).toEqual([]);
  });
});
