import type { z } from "zod";

/**
 * What a name or a text a client writes may hold. Others read it: in the web client, and in the
 * operator's terminal (`loom replay`, `loom universes`), where a control character such as ESC
 * starts a sequence that clears the screen, retitles the window or hides text, and a
 * bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069) makes text read otherwise
 * than it is stored.
 */
const BIDI_CONTROLS = "\\u202A-\\u202E\\u2066-\\u2069";
const UNSAFE = new RegExp(`[\\p{Cc}${BIDI_CONTROLS}]`, "gu");
const ONE_LINE = new RegExp(`^[^\\p{Cc}${BIDI_CONTROLS}]*$`, "u");
const PROSE = new RegExp(`^(?:[\\n\\t]|[^\\p{Cc}${BIDI_CONTROLS}])*$`, "u");

/** A name, a title, an aspect: one line, without control characters or bidirectional controls. */
export function oneLine(schema: z.ZodString): z.ZodString {
  return schema.regex(ONE_LINE, "one line without control characters or bidirectional overrides");
}

/**
 * Spaces and characters drawn as nothing: format characters (Cf: zero-width space and joiners,
 * word joiner, byte order mark, soft hyphen) and the other default-ignorable code points (Hangul
 * fillers, variation selectors), which some fonts draw as a blank.
 */
const INVISIBLE = /[\s\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * A name someone gives a thing others pick it out by (a character, a universe, an account, a save
 * point, an aspect, a scene): one line, as above, and at least one visible character. A name of
 * zero-width characters alone shows as nothing in a list, and two of them look the same.
 */
export function visibleName(schema: z.ZodString): z.ZodString {
  return oneLine(schema).refine(
    (text) => text.replace(INVISIBLE, "").length > 0,
    "at least one visible character, not only spaces or zero-width characters",
  );
}

/** A description, a note, a player's text: lines and tabs, no other control characters. */
export function prose(schema: z.ZodString): z.ZodString {
  return schema.regex(
    PROSE,
    "text without control characters (other than line breaks and tabs) or bidirectional overrides",
  );
}

/**
 * Text stored before the rule above, or imported, written to a terminal: each control character
 * shown as `\u{1b}` rather than obeyed. With `lines`, line breaks and tabs are kept (prose);
 * without, a name cannot start a line of its own either.
 */
export function escapeControls(text: string, options: { lines?: boolean } = {}): string {
  return text.replace(UNSAFE, (char) =>
    options.lines && (char === "\n" || char === "\t") ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`,
  );
}

/**
 * A name made of someone's words, at most `max` UTF-16 units, or "" when they have nothing to
 * name a thing by. Words that already make a name are kept as they are, cut at `max`, never inside
 * a character (half of a surrogate pair cannot be stored); others have every run of spaces and
 * control characters made one space.
 */
export function nameFromWords(words: string, max: number): string {
  const cut = (text: string) => {
    const head = text.slice(0, max);
    return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
  };
  const name = cut(words);
  if (ONE_LINE.test(name) && name.replace(INVISIBLE, "").length > 0) return name;
  const line = cut(words.replace(new RegExp(`[\\s\\p{Cc}${BIDI_CONTROLS}]+`, "gu"), " ").trim()).trim();
  return line.replace(INVISIBLE, "").length > 0 ? line : "";
}
