/**
 * A login name as it is compared and stored: Unicode-compatibility normalized, case-folded,
 * inner whitespace collapsed. "Mira  Vale", "mira vale" and "ＭＩＲＡ VALE" are one login.
 */
export function loginName(name: string): string {
  return name.normalize("NFKC").trim().replace(/\s+/gu, " ").toLowerCase();
}
