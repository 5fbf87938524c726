/**
 * Others' words inside the Markdown Loom writes (the exported story, the "Last time on…" recap).
 * Those documents are read in whatever renders Markdown, and a name, a description or a note is
 * what a player or a game master typed: none of it may become markup the renderer obeys.
 */

/** `&` where a renderer would read an entity (`&#60;`, `&lt;`), else left as typed. */
const ENTITY_START = /&(?=#?\w+;)/;

function escapeMark(mark: string): string {
  return mark === "&" ? "&amp;" : `\\${mark}`;
}

const LITERAL = new RegExp(`\\\\|[[\\]]|<(?=[A-Za-z/!?])|${ENTITY_START.source}`, "g");
const INLINE = new RegExp(`[\\\\\`*_[\\]<>]|${ENTITY_START.source}`, "g");

/**
 * Words as words: no HTML tag or entity (`<img onerror=…>`, `&#60;`), no link, image or footnote
 * reference (`[…](…)`, `[^1]`). Emphasis is left as written, for prose that uses it.
 */
export function markdownLiteral(text: string): string {
  return text.replace(LITERAL, escapeMark);
}

/**
 * A paragraph (or several, apart by blank lines) of others' words: literal, and no line of it
 * opening a heading, a quote or a list by accident.
 */
export function markdownParagraph(text: string): string {
  return markdownLiteral(text)
    .split(/\n{2,}/)
    .map((part) => part.replace(/^(\s*)([#>]|[-*+] |\d+\. )/gm, "$1\\$2"))
    .join("\n\n");
}

/** A name set inside emphasis or strong text: its own marks escaped too, so it cannot end it. */
export function markdownInline(text: string): string {
  return text.replace(INLINE, escapeMark);
}

/** A piece of a line: plain, emphasised (`*…*`) or strong (`**…**`). */
export interface InlineSpan {
  kind: "text" | "em" | "strong";
  text: string;
}

/** An escape (kept in the text around it), or emphasis: strong first, then em. */
const TOKENS = /\\.|\*\*((?:\\.|[^*\\])+)\*\*|\*((?:\\.|[^*\\])+)\*/gsu;

/** A backslash before ASCII punctuation, and the `&amp;` written for an entity's `&`, as typed. */
function unescape(text: string): string {
  return text.replace(
    /\\([!-/:-@[-`{-~])|&amp;(?=#?\w+;)/g,
    (_whole, mark: string | undefined) => mark ?? "&",
  );
}

/**
 * The emphasis of one line of Loom's Markdown, its escapes undone: what a page shows as text
 * nodes (never HTML). An escaped star, in a name, neither opens nor closes emphasis.
 */
export function inlineSpans(line: string): InlineSpan[] {
  const spans: InlineSpan[] = [];
  let plainFrom = 0;
  const plainUpTo = (end: number) => {
    if (end > plainFrom) spans.push({ kind: "text", text: unescape(line.slice(plainFrom, end)) });
  };
  for (const token of line.matchAll(TOKENS)) {
    const [whole, strong, em] = token;
    if (strong === undefined && em === undefined) continue;
    plainUpTo(token.index);
    spans.push({ kind: strong === undefined ? "em" : "strong", text: unescape(strong ?? em!) });
    plainFrom = token.index + whole.length;
  }
  plainUpTo(line.length);
  return spans;
}
