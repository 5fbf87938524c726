import type { Application } from "express";
import { API, type DiceDisclosure, type DiceSegment } from "@loom/shared";
import { services } from "../services.ts";
import type { StoredDice } from "../persist/turn-store.ts";
import { callUniverse } from "../universe/dispatch.ts";
import { caller, route } from "./http.ts";
import { asGameMaster, universeOr404 } from "./access.ts";

/** A stretch of dice as anyone may see it: the secret (and a legacy seed) only once revealed. */
function disclosed(dice: StoredDice): DiceSegment {
  const revealed = dice.revealedAt !== null;
  return {
    universeId: dice.universeId,
    from: dice.from,
    commitment: dice.commitment,
    revealedAt: dice.revealedAt,
    secret: revealed ? dice.secret : null,
    legacyThrough: dice.legacyThrough,
    legacySeed: revealed ? dice.legacySeed : null,
  };
}

async function disclosure(universeId: string): Promise<DiceDisclosure> {
  const chain = await services().turnStore.diceChain(universeId);
  return { universeId, chain: chain.map(disclosed) };
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
      await caller(req);
      const universe = await universeOr404(String(req.params.id));
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
