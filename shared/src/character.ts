import { z } from "zod";
import { prose, visibleName } from "./plain-text.ts";
import type { Character } from "./state.ts";
import { ladderRating } from "./state.ts";

const aspect = z.string().trim().min(1).max(200);
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
    .refine((skills) => Object.keys(skills).length <= 20, "at most 20 skills")
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
