import type { Application } from "express";
import { API, type DiceDisclosure } from "@loom/shared";
import { disclosedDice } from "../export/format.ts";
import { services } from "../services.ts";
import { callUniverse } from "../universe/dispatch.ts";
import { route } from "./http.ts";
import { asGameMaster, readableUniverse } from "./access.ts";

async function disclosure(universeId: string): Promise<DiceDisclosure> {
  const chain = await services().turnStore.diceChain(universeId);
  return { universeId, chain: chain.map(disclosedDice) };
}

/**
 * Provably fair dice (shared/src/fair-dice.ts): the commitments of a timeline's dice, and their
 * secrets once revealed, for `verifyDice`. A reveal is the game master's, and ends the universe's
 * rolling: a secret anyone can read would predict every later roll.
 */
export function installDiceRoutes(app: Application): void {
  app.get(
    API.dice.path,
    route(async (req) => {
      // as readable as the timeline whose rolls they check
      const universe = await readableUniverse(req, String(req.params.id));
      return { dice: await disclosure(universe.id) };
    }),
  );

  app.post(
    API.revealDice.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      await callUniverse(universe.id, "revealDice");
      return { dice: await disclosure(universe.id) };
    }),
  );
}
