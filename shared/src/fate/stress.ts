import type { ConsequenceSeverity } from "../state.ts";

/** Shifts each consequence absorbs (Fate Core p. 162). */
export const CONSEQUENCE_VALUE: Record<ConsequenceSeverity, number> = { mild: 2, moderate: 4, severe: 6 };

const SEVERITIES: readonly ConsequenceSeverity[] = ["mild", "moderate", "severe"];

/** How a hit is soaked: the stress box checked (0-based, box value = index + 1) and consequences taken. */
export interface Absorption {
  box: number | null;
  consequences: ConsequenceSeverity[];
  takenOut: boolean;
}

/** The unchecked box that absorbs `shifts` with least waste: the lowest box worth ≥ shifts. */
function boxFor(track: readonly boolean[], shifts: number): number | null {
  for (let index = Math.max(0, shifts - 1); index < track.length; index++) {
    if (!track[index]) return index;
  }
  return null;
}

/**
 * Absorbs a hit of `shifts` (Fate Core pp. 160–166): a stress box of that value or higher takes
 * it whole (boxes 1..n absorb a hit of up to their value); otherwise consequences reduce the hit
 * (mild 2, moderate 4, severe 6) and a box may take what is left. Among the ways that work, the
 * one using the fewest shifts of consequences is chosen (then the fewest consequences), as a
 * player keeping their character fighting would. If no way absorbs the whole hit, the defender is
 * taken out and nothing is checked: being taken out is the whole result (p. 167).
 *
 * `freeConsequences` lists the consequence slots still open; an NPC without consequences passes [].
 */
export function absorbHit(
  track: readonly boolean[],
  freeConsequences: readonly ConsequenceSeverity[],
  shifts: number,
): Absorption {
  if (shifts <= 0) return { box: null, consequences: [], takenOut: false };
  const open = SEVERITIES.filter((severity) => freeConsequences.includes(severity));
  const options: ConsequenceSeverity[][] = [];
  for (let mask = 0; mask < 1 << open.length; mask++) {
    options.push(open.filter((_, i) => (mask & (1 << i)) !== 0));
  }
  const value = (set: readonly ConsequenceSeverity[]) =>
    set.reduce((sum, s) => sum + CONSEQUENCE_VALUE[s], 0);
  options.sort((a, b) => value(a) - value(b) || a.length - b.length);
  for (const consequences of options) {
    const remaining = shifts - value(consequences);
    if (remaining <= 0) return { box: null, consequences, takenOut: false };
    const box = boxFor(track, remaining);
    if (box !== null) return { box, consequences, takenOut: false };
  }
  return { box: null, consequences: [], takenOut: true };
}
