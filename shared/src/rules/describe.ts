import { formatRating } from "../fate/ladder.ts";
import { OUTCOME_LABEL } from "../fate/outcome.ts";
import { readObject } from "../deed.ts";
import type { Resolution } from "../turn.ts";

function actionPhrase(action: Resolution["action"], what: string): string {
  switch (action) {
    case "overcome":
      return `overcomes ${what}`;
    case "create_advantage":
      return `creates an advantage against ${what}`;
    case "attack":
      return `attacks ${what}`;
    case "defend":
      return `defends against ${what}`;
  }
}

/** The action without an object, for words that are not one: "tries to overcome". */
const BARE_ACTION: Record<Resolution["action"], string> = {
  overcome: "tries to overcome",
  create_advantage: "tries to create an advantage",
  attack: "attacks",
  defend: "defends",
};

/** What a roll was made against when neither a target nor the player's words name it. */
const DEFAULT_OBJECT: Record<Resolution["action"], string> = {
  overcome: "an obstacle",
  create_advantage: "the situation",
  attack: "a foe",
  defend: "a threat",
};

/** What the roll is about: its target, what the player wrote their character does, or neither. */
export interface RollSubject {
  /** The target's name ("Old Brannoc", "the scene", a quoted aspect), or null. */
  target: string | null;
  /** The player's description of the action, as written ("" for none). */
  words: string;
}

/**
 * "Mara overcomes the locked gate with Athletics (Good +3) against Fair +2, rolling Superb +5:
 * success with style". The player's words are the object when they read as one (a noun phrase,
 * "the locked gate"), before the target; for an attack such words are the means ("a sparring
 * jab"), not the foe. Other words follow the action, or its target, in quotes: `Tamsin defends
 * ("duck behind the crates")`, `Mara attacks Ysolde ("a sparring jab")`.
 */
export function describeRoll(actorName: string, resolution: Resolution, subject: RollSubject): string {
  const against =
    resolution.oppositionKind === "active"
      ? `an active opposition of ${formatRating(resolution.opposition)}`
      : formatRating(resolution.opposition);
  return (
    `${actorName} ${rollHead(actorName, resolution.action, subject)} with ${resolution.skill} ` +
    `(${formatRating(resolution.rating)}) against ${against}, rolling ${formatRating(resolution.total)}: ` +
    OUTCOME_LABEL[resolution.outcome]
  );
}

function rollHead(actorName: string, action: Resolution["action"], { target, words }: RollSubject): string {
  const written = readObject(words, actorName);
  if (written.form === "none") return actionPhrase(action, target ?? DEFAULT_OBJECT[action]);
  if (written.form === "noun" && action !== "attack") return actionPhrase(action, written.text);
  const quoted = ` (${quote(words.trim())})`;
  return (target === null ? BARE_ACTION[action] : actionPhrase(action, target)) + quoted;
}

export function quote(text: string): string {
  return `"${text}"`;
}
