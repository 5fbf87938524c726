import { randomBytes } from "node:crypto";
import { DICE_SECRET_BYTES, diceCommitment } from "@loom/shared";

/** A new universe's dice secret and the commitment it publishes (shared/src/fair-dice.ts). */
export function newDiceSecret(): { diceSecret: string; diceCommitment: string } {
  const diceSecret = randomBytes(DICE_SECRET_BYTES).toString("hex");
  return { diceSecret, diceCommitment: diceCommitment(diceSecret) };
}
