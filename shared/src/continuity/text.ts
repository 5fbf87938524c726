/**
 * Text helpers for recaps and summaries. Nothing here is locale-dependent: no Intl, no
 * toLocaleString, no localeCompare, so the same input gives the same bytes on every machine.
 */

/** Collapses all whitespace (newlines included) to single spaces, so one item stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** At most `max` characters, ending in "…" when shortened. Cuts between code points. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  // Never split a surrogate pair: the cut would not be valid UTF-16.
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}

/** A sentence ends with terminal punctuation; description fragments get a full stop. */
export function sentence(text: string): string {
  const line = oneLine(text);
  if (line === "") return "";
  return /[.!?…]["')\]]?$/.test(line) ? line : `${line}.`;
}

/** Sorts strings by code unit (never by locale). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PARAGRAPH = /\n\s*\n/g;
const SENTENCE_END = /[.!?…]["')\]]?\s+/g;

/**
 * The end of `text` within `max` characters, cut where a paragraph starts, else where a sentence
 * starts, else mid-text as a last resort. A boundary counts only if the cut keeps at least half
 * of `max`, so one long final paragraph never wipes out the rest. Bounds a summary from the front.
 */
export function keepTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const earliest = text.length - max;
  const latest = earliest + Math.floor(max / 2);
  const cut =
    firstBoundaryBetween(text, PARAGRAPH, earliest, latest) ??
    firstBoundaryBetween(text, SENTENCE_END, earliest, latest);
  return (cut === null ? text.slice(earliest) : text.slice(cut)).trimStart();
}

/**
 * The start of `text` within `max` characters, cut after the last whole sentence that fits, else
 * clipped with "…". Used to keep a session summary within the command text limit.
 */
export function keepHead(text: string, max: number): string {
  if (text.length <= max) return text;
  let best: number | null = null;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].trimEnd().length;
    if (end > max) break;
    best = end;
  }
  return best === null ? clip(text, max) : text.slice(0, best);
}

function firstBoundaryBetween(text: string, boundary: RegExp, from: number, to: number): number | null {
  for (const match of text.matchAll(boundary)) {
    const start = match.index + match[0].length;
    if (start > to) return null;
    if (start >= from) return start;
  }
  return null;
}
