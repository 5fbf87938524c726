import { formatRating } from "../fate/ladder.ts";
import { OUTCOME_LABEL } from "../fate/outcome.ts";
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

/** "Mara overcomes the locked gate with Athletics (Good +3) against Fair +2, rolling Superb +5: success with style" */
export function describeRoll(actorName: string, resolution: Resolution, what: string): string {
  const against =
    resolution.oppositionKind === "active"
      ? `an active opposition of ${formatRating(resolution.opposition)}`
      : formatRating(resolution.opposition);
  return (
    `${actorName} ${actionPhrase(resolution.action, what)} with ${resolution.skill} ` +
    `(${formatRating(resolution.rating)}) against ${against}, rolling ${formatRating(resolution.total)}: ` +
    OUTCOME_LABEL[resolution.outcome]
  );
}

export function quote(text: string): string {
  return `"${text}"`;
}
