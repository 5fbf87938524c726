import { z } from "zod";
import { prose, visibleName } from "./plain-text.ts";
import type { Character } from "./state.ts";
import { ladderRating } from "./state.ts";
import { formatRating, LADDER_MAX, ratingInWords } from "./fate/ladder.ts";

const aspect = z.string().trim().min(1).max(200);
/** How many skills a sheet may list. */
export const MAX_SKILLS = 20;
const notes = z.string().max(2000);

/**
 * A sheet as a character's record holds it. Sheets stored before names were held to plain text
 * (characterSheetSchema) still load, so their characters still join.
 */
export const storedCharacterSheetSchema = z.object({
  name: z.string().trim().min(1).max(100),
  highConcept: aspect,
  trouble: aspect,
  aspects: z.array(aspect).max(5).default([]),
  skills: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z ]{0,39}$/, "a skill name"), ladderRating)
    .refine((skills) => Object.keys(skills).length <= MAX_SKILLS, `at most ${MAX_SKILLS} skills`)
    .default({}),
  refresh: z.number().int().min(1).max(10).default(3),
  notes: notes.default(""),
});

/** What a player sends to create a character; everything else gets Fate Core defaults. */
export const characterSheetSchema = storedCharacterSheetSchema.extend({
  name: visibleName(z.string().trim().min(1).max(100)),
  highConcept: visibleName(aspect),
  trouble: visibleName(aspect),
  aspects: z.array(visibleName(aspect)).max(5).default([]),
  notes: prose(notes).default(""),
});
export type CharacterSheet = z.infer<typeof characterSheetSchema>;
export type CharacterSheetInput = z.input<typeof characterSheetSchema>;

/**
 * What a new character's sheet may hold in a universe. Fate Core starts a character with skills up
 * to Great (+4), the pyramid's 20 skill points (one Great, two Good, three Fair, four Average) and
 * a refresh of 3 (pp. 30–32); a universe's game master sets other limits (`PATCH
 * /api/universes/:id`), for seasoned or superhuman characters, and may hold skills to the pyramid's
 * shape. They are checked when a sheet is created, never when it loads: characters made before
 * keep their sheets.
 */
const characterLimitFields = {
  /** The highest rating a new character's skill may have. */
  skillCap: z.number().int().min(0).max(LADDER_MAX),
  /** What a new character's skill ratings above Mediocre may add up to. */
  skillPoints: z
    .number()
    .int()
    .min(0)
    .max(LADDER_MAX * MAX_SKILLS),
  /** The highest refresh (fate points a session starts with) a new character may have. */
  refresh: z.number().int().min(1).max(10),
  /**
   * Whether the skills must form a pyramid: at each rating above Mediocre no more skills than one
   * step below. Without it the pyramid is advice, and 20 points buy five Great skills.
   */
  pyramid: z.boolean(),
};

export const characterLimitsSchema = z.object({
  ...characterLimitFields,
  // limits stored before the pyramid could be required did not require it
  pyramid: characterLimitFields.pyramid.default(false),
});
export type CharacterLimits = z.infer<typeof characterLimitsSchema>;

/** A game master's change of the limits: the parts given; those left out stay as stored. */
export const characterLimitsChangeSchema = z.object(characterLimitFields).partial();

export const DEFAULT_CHARACTER_LIMITS: CharacterLimits = Object.freeze({
  skillCap: 4,
  skillPoints: 20,
  refresh: 3,
  pyramid: false,
});

/** A universe's limits, from its settings (`characterLimits`): Fate Core's where none are set. */
export function characterLimitsOf(settings: Record<string, unknown>): CharacterLimits {
  const set = characterLimitsSchema.safeParse(settings.characterLimits);
  return set.success ? set.data : DEFAULT_CHARACTER_LIMITS;
}

/**
 * Where skill ratings break Fate Core's pyramid (p. 30), highest first: "2 skills at Good (+3) but
 * 1 at Fair (+2)". Empty for a pyramid.
 */
export function pyramidGaps(ratings: readonly number[]): string[] {
  const count = new Map<number, number>();
  for (const rating of ratings) count.set(rating, (count.get(rating) ?? 0) + 1);
  const gaps: string[] = [];
  for (let rating = LADDER_MAX; rating >= 2; rating--) {
    const here = count.get(rating) ?? 0;
    const below = count.get(rating - 1) ?? 0;
    if (here > below)
      gaps.push(
        `${here} skill${here > 1 ? "s" : ""} at ${ratingInWords(rating)} but ${below} at ${ratingInWords(rating - 1)}`,
      );
  }
  return gaps;
}

/** What in `sheet` is over `limits`, one sentence each; empty when the sheet fits. */
export function overCharacterLimits(
  sheet: Pick<CharacterSheet, "skills" | "refresh">,
  limits: CharacterLimits,
): string[] {
  const over: string[] = [];
  for (const [skill, rating] of Object.entries(sheet.skills))
    if (rating > limits.skillCap)
      over.push(
        `${skill} at ${formatRating(rating)} is over the skill cap, ${formatRating(limits.skillCap)}`,
      );
  const points = Object.values(sheet.skills).reduce((sum, rating) => sum + Math.max(0, rating), 0);
  if (points > limits.skillPoints)
    over.push(`the skills add up to ${points} points, over the ${limits.skillPoints} a new character has`);
  if (limits.pyramid)
    for (const gap of pyramidGaps(Object.values(sheet.skills)))
      over.push(`${gap}: this universe's skills form a pyramid, at least as many one step below`);
  if (sheet.refresh > limits.refresh)
    over.push(`a refresh of ${sheet.refresh} is over the ${limits.refresh} a new character starts with`);
  return over;
}

/**
 * Stress boxes grow with Physique and Will (Fate Core p. 89): 2 boxes, a 3rd at Average/Fair
 * (+1/+2), a 4th at Good (+3) and above.
 */
function stressBoxes(rating: number | undefined): boolean[] {
  const r = rating ?? 0;
  const count = r >= 3 ? 4 : r >= 1 ? 3 : 2;
  return Array.from({ length: count }, () => false);
}

export function buildCharacter(id: string, playerId: string, sheet: CharacterSheet): Character {
  return {
    id,
    name: sheet.name,
    playerId,
    highConcept: sheet.highConcept,
    trouble: sheet.trouble,
    aspects: sheet.aspects,
    skills: sheet.skills,
    stress: { physical: stressBoxes(sheet.skills.Physique), mental: stressBoxes(sheet.skills.Will) },
    consequences: { mild: null, moderate: null, severe: null },
    fatePoints: sheet.refresh,
    refresh: sheet.refresh,
    inventory: {},
    conditions: [],
    resources: {},
    takenOut: false,
    conceded: false,
    gmNotes: "",
    private: { notes: sheet.notes, secrets: [] },
  };
}

/**
 * "Mara, disgraced cartographer": a character introduced by name and high concept, the name said
 * once when the high concept begins with it ("Mara, disgraced cartographer" or "Mara the Bold").
 */
export function nameWithConcept(name: string, highConcept: string): string {
  const concept = highConcept.trim();
  if (concept === "") return name;
  return conceptAfterName(name, concept) === concept ? `${name}, ${concept}` : concept;
}

/**
 * The high concept with a leading repeat of the name taken off, for a line that writes the name
 * first: "disgraced cartographer" of "Mara, disgraced cartographer", "the Bold" of "Mara the Bold";
 * "" when the concept is the name alone.
 */
export function conceptAfterName(name: string, highConcept: string): string {
  const concept = highConcept.trim();
  const rest = concept.slice(name.length);
  const named = concept.slice(0, name.length).toLowerCase() === name.toLowerCase() && /^(\s|,|$)/u.test(rest);
  return named ? rest.replace(/^[\s,]+/u, "") : concept;
}
