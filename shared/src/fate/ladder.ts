/** The Fate Core ladder (Fate Core p. 9): adjectives for ratings from Terrible −2 to Legendary +8. */
export const LADDER = {
  8: "Legendary",
  7: "Epic",
  6: "Fantastic",
  5: "Superb",
  4: "Great",
  3: "Good",
  2: "Fair",
  1: "Average",
  0: "Mediocre",
  [-1]: "Poor",
  [-2]: "Terrible",
} as const satisfies Record<number, string>;

export const LADDER_MIN = -2;
export const LADDER_MAX = 8;

/** A skill a character does not have is rolled at Mediocre (+0) (Fate Core p. 88). */
export const DEFAULT_SKILL_RATING = 0;

/** "Good", or null for a number off the ladder (a roll total can be). */
export function ladderName(rating: number): string | null {
  return Number.isInteger(rating) && rating >= LADDER_MIN && rating <= LADDER_MAX
    ? LADDER[rating as keyof typeof LADDER]
    : null;
}

/** "+3", "0", "−1" (with a true minus sign, as the rulebook prints it). */
export function signed(value: number): string {
  if (value > 0) return `+${value}`;
  if (value < 0) return `\u2212${-value}`;
  return "0";
}

/**
 * "Good +3" on the ladder; beyond it, totals keep the nearest end's name with the number
 * ("Legendary +10", "Terrible −4"), which is how tables read such results aloud.
 */
export function formatRating(rating: number): string {
  return `${nearestName(rating)} ${signed(rating)}`;
}

/** "Great (+4)": a rating as the rulebook writes it in prose (the hints of a sheet's form). */
export function ratingInWords(rating: number): string {
  return `${nearestName(rating)} (${signed(rating)})`;
}

/** The name of the ladder's rung, or of its nearest end for a number beyond it. */
function nearestName(rating: number): string {
  const clamped = Math.min(LADDER_MAX, Math.max(LADDER_MIN, Math.trunc(rating)));
  return ladderName(clamped) ?? "Mediocre";
}
