/** Small text helpers for sentences built around others' words: the narrators', the rules'. */

/** A string with something in it, or null. */
export function nonEmpty(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** A slot that ends a sentence with its own stop: "Who Rang the Bell?." reads "Who Rang the Bell?". */
export function tidy(text: string): string {
  return text.replace(/([.!?…])\.(?=\s|$)/gu, "$1");
}

/** A description as a sentence: a capital first letter and a final stop. */
export function sentence(text: string): string {
  return upperFirst(stop(text));
}

/** The text with a final stop, if it has none. */
export function stop(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return "";
  return /[.!?…]["'”)]?$/u.test(trimmed) ? trimmed : `${trimmed}.`;
}

export function upperFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

export function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1);
}
