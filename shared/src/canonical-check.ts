/**
 * Whether `text` is one JSON value written canonically: `canonicalJson(JSON.parse(text)) ===
 * text`, told in one pass over the text, without parsing it or writing it again. A text whose
 * checksum is taken as it stands (a snapshot line's document) must be canonical, or the checksum
 * would be of another text than its document's: whitespace, members out of order or twice,
 * other escapes or number forms all parse to a document whose canonical text differs.
 *
 * Iterative, so a deep document cannot exhaust the stack; false, never an exception, for a text
 * that is no JSON.
 */
export function isCanonicalJson(text: string): boolean {
  return new Scan(text).value() === text.length;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** An open array on the stack of open containers; an open object is its last key's start. */
const ARRAY = -1;
/** An open object before its first key. */
const NO_KEY = -2;

class Scan {
  /** The open containers, innermost last: ARRAY, NO_KEY, or where the object's last key starts. */
  private readonly open: number[] = [];
  /** Where each open object's last key ends (past its closing quote). */
  private readonly keyEnds: number[] = [];

  constructor(private readonly text: string) {}

  /** Where the canonical value at the start ends, or -1 when there is none. */
  value(): number {
    const { text, open, keyEnds } = this;
    let at = 0;
    for (;;) {
      // a value is due at `at` (an object's key and colon read before it)
      const first = text.charCodeAt(at);
      if (first === OPEN_OBJECT) {
        if (text.charCodeAt(at + 1) === CLOSE_OBJECT) at += 2;
        else {
          open.push(NO_KEY);
          keyEnds.push(0);
          at = this.key(at + 1);
          if (at < 0) return -1;
          continue;
        }
      } else if (first === OPEN_ARRAY) {
        if (text.charCodeAt(at + 1) === CLOSE_ARRAY) at += 2;
        else {
          open.push(ARRAY);
          keyEnds.push(0);
          at += 1;
          continue;
        }
      } else if (first === QUOTE) at = this.string(at);
      else if (first === 0x2d /* - */ || (first >= 0x30 && first <= 0x39)) at = this.number(at);
      else if (text.startsWith("true", at) || text.startsWith("null", at)) at += 4;
      else if (text.startsWith("false", at)) at += 5;
      else return -1;
      if (at < 0) return -1;
      // after a value: the containers it closes, then the next member, or the end
      for (;;) {
        if (open.length === 0) return at;
        const container = open[open.length - 1]!;
        const next = text.charCodeAt(at);
        if (next === (container === ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT)) {
          open.pop();
          keyEnds.pop();
          at += 1;
        } else if (next !== COMMA) return -1;
        else {
          at = container === ARRAY ? at + 1 : this.key(at + 1);
          if (at < 0) return -1;
          break;
        }
      }
    }
  }

  /**
   * Past the key at `at` and its colon, or -1: each key of an object must come after the one
   * before it in canonicalJson's order (by code unit), which also rules out one written twice.
   */
  private key(at: number): number {
    const { text, open, keyEnds } = this;
    if (text.charCodeAt(at) !== QUOTE) return -1;
    const end = this.string(at);
    if (end < 0 || text.charCodeAt(end) !== COLON) return -1;
    const top = open.length - 1;
    const before = open[top]!;
    if (before !== NO_KEY && !this.ascending(before, keyEnds[top]! - 1, at, end - 1)) return -1;
    open[top] = at;
    keyEnds[top] = end;
    return end + 1;
  }

  /**
   * Whether the key whose quotes are at `second` and `secondEnd` sorts after the one at `first`
   * and `firstEnd`, as their texts decode.
   */
  private ascending(first: number, firstEnd: number, second: number, secondEnd: number): boolean {
    const { text } = this;
    for (let a = first + 1, b = second + 1; ; a++, b++) {
      if (b === secondEnd) return false;
      if (a === firstEnd) return true;
      const left = text.charCodeAt(a);
      const right = text.charCodeAt(b);
      if (left === BACKSLASH || right === BACKSLASH)
        return (
          (JSON.parse(text.slice(first, firstEnd + 1)) as string) <
          (JSON.parse(text.slice(second, secondEnd + 1)) as string)
        );
      if (left !== right) return left < right;
    }
  }

  /**
   * Past the string at `at`, or -1 when JSON.stringify would write it otherwise: a raw control
   * character or lone surrogate (it escapes them), or an escape of its own choosing. One with an
   * escape is written again to tell, since which escape a character takes depends on its
   * neighbours (a surrogate pair is written raw, a lone surrogate escaped).
   */
  private string(at: number): number {
    const { text } = this;
    let escaped = false;
    let end = at + 1;
    for (; ; end++) {
      if (end >= text.length) return -1;
      const code = text.charCodeAt(end);
      if (code === QUOTE) break;
      if (code === BACKSLASH) {
        escaped = true;
        end += 1;
      } else if (code < 0x20) return -1;
      else if (code >= 0xd800 && code <= 0xdfff) {
        const pair = code <= 0xdbff && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
        if (!pair) return -1;
        end += 1;
      }
    }
    end += 1;
    if (!escaped) return end;
    const written = text.slice(at, end);
    try {
      return JSON.stringify(JSON.parse(written)) === written ? end : -1;
    } catch {
      return -1;
    }
  }

  /** Past the number at `at`, or -1 when it is not as JSON.stringify writes it (1e+21, never 1E21, 1.0 or -0). */
  private number(at: number): number {
    const { text } = this;
    const sign = text.charCodeAt(at) === 0x2d ? 1 : 0;
    let end = at + sign;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code < 0x30 || code > 0x39) break;
      end += 1;
    }
    const digits = end - at - sign;
    const next = end < text.length ? text.charCodeAt(end) : 0;
    const whole = next !== 0x2e && next !== 0x65 && next !== 0x45 && next !== 0x2b && next !== 0x2d;
    // a whole number of up to 15 digits is its own shortest form unless it starts with a zero
    if (whole && digits > 0 && digits <= 15) {
      const zero = text.charCodeAt(at + sign) === 0x30;
      return !zero || (digits === 1 && sign === 0) ? end : -1;
    }
    while (end < text.length) {
      const code = text.charCodeAt(end);
      const numeric =
        (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x65 || code === 0x2b || code === 0x2d;
      if (!numeric) break;
      end += 1;
    }
    const written = text.slice(at, end);
    return String(Number(written)) === written ? end : -1;
  }
}
