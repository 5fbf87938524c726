import type { FateAction } from "../command.ts";
import { DEFAULT_SKILL_RATING } from "./ladder.ts";

export type SkillSheet = Readonly<Record<string, number>>;
export type StressTrack = "physical" | "mental";

export interface SkillRating {
  /** The skill as the sheet spells it, or as asked when the sheet lacks it. */
  skill: string;
  rating: number;
}

/**
 * A skill's rating on a sheet. Names match exactly first, then ignoring case, so "athletics"
 * finds "Athletics". A skill the sheet lacks is Mediocre (+0), not an error (Fate Core p. 88).
 */
export function skillRating(skills: SkillSheet, name: string): SkillRating {
  if (Object.prototype.hasOwnProperty.call(skills, name)) return { skill: name, rating: skills[name]! };
  const lower = name.toLowerCase();
  for (const key in skills) {
    if (key.toLowerCase() === lower && Object.prototype.hasOwnProperty.call(skills, key)) {
      return { skill: key, rating: skills[key]! };
    }
  }
  return { skill: name, rating: DEFAULT_SKILL_RATING };
}

/** Provoke attacks the mind (Fate Core p. 112); every other attack skill deals physical stress. */
const MENTAL_ATTACKS = new Set(["provoke", "deceive", "rapport", "will"]);

export function stressTrackFor(attackSkill: string): StressTrack {
  return MENTAL_ATTACKS.has(attackSkill.toLowerCase()) ? "mental" : "physical";
}

/**
 * The skill an active opponent rolls against an overcome or create-advantage attempt, after the
 * "opposition" notes of the Fate Core skill list (pp. 96–128). Skills not listed are opposed by
 * the same skill, which is how a contest of like against like reads.
 */
const OPPOSED_BY: Record<string, string> = {
  stealth: "Notice",
  notice: "Stealth",
  deceive: "Empathy",
  empathy: "Deceive",
  provoke: "Will",
  rapport: "Will",
  burglary: "Notice",
  investigate: "Deceive",
  shoot: "Athletics",
};

/**
 * The opponent's skills for a roll. Defence against an attack (Fate Core p. 142): Will against a
 * mental attack; against a physical one the better of Athletics and Fight, as a player would pick.
 */
export function opposingSkills(action: FateAction, actorSkill: string): string[] {
  if (action === "attack") return stressTrackFor(actorSkill) === "mental" ? ["Will"] : ["Athletics", "Fight"];
  // an own member only: a skill may be named "constructor", which every object answers to
  const key = actorSkill.toLowerCase();
  return [Object.hasOwn(OPPOSED_BY, key) ? OPPOSED_BY[key]! : actorSkill];
}

/** The best of several skills on a sheet. */
export function bestSkill(skills: SkillSheet, names: readonly string[]): SkillRating {
  let best = skillRating(skills, names[0]!);
  for (let i = 1; i < names.length; i++) {
    const candidate = skillRating(skills, names[i]!);
    if (candidate.rating > best.rating) best = candidate;
  }
  return best;
}
