import type { Application } from "express";
import {
  API,
  GAME_MASTER,
  RejectionCode,
  viewState,
  type Character,
  type CharacterRecord,
  type Viewer,
} from "@loom/shared";
import { services } from "../services.ts";
import { ApiError, caller, parseBody, route } from "./http.ts";
import { descendsFrom, isGm, mayReadUniverse, requireMember, universeOr404 } from "./access.ts";
import { liveReads } from "./live.ts";

/**
 * A character's full sheet as the story has left it (stress, consequences, fate points, private
 * notes): for its player and the universe's game masters, the game masters' notes for them alone.
 * `?universe=` reads it in a branch of the character's universe instead. It includes every
 * acknowledged turn, stored or not.
 */
export function installCharacterRoutes(app: Application): void {
  app.get(
    API.character.path,
    route(async (req): Promise<{ character: CharacterRecord; sheet: Character | null; position: number }> => {
      const me = await caller(req);
      const asked = parseBody(API.character.query, req.query, "query").universe;
      const { turnStore } = services();
      const character = await turnStore.getCharacter(String(req.params.id));
      if (!character)
        throw new ApiError(404, RejectionCode.UnknownCharacter, `no character ${String(req.params.id)}`);
      const universe = await universeOr404(asked ?? character.universeId);
      // the game masters who may read it are those of a universe it lives in, not of any other
      if (!(await descendsFrom(universe.id, character.universeId)))
        throw new ApiError(
          404,
          RejectionCode.UnknownCharacter,
          `no character ${character.id} in universe ${universe.id} (only its own universe and its branches)`,
        );
      if (character.playerId !== me.playerId && !isGm(universe, me.playerId)) {
        if (!(await mayReadUniverse(universe, me.playerId)))
          throw new ApiError(404, RejectionCode.UnknownCharacter, `no character ${character.id}`);
        throw new ApiError(403, RejectionCode.NotYourCharacter, "this character's sheet is its player's");
      }
      await requireMember(universe, me.playerId);
      // as of the newest acknowledged turn, stored or not: a player reads the sheet their turn left
      const reads = liveReads();
      const latest = await reads.stateWithoutChecksum(universe.id, await reads.head(universe.id));
      // its player reads it as the room shows it to them: their private notes, not the GMs' notes
      const viewer: Viewer = isGm(universe, me.playerId)
        ? GAME_MASTER
        : { role: "player", owns: (id) => id === character.id };
      const sheet = Object.hasOwn(latest.state.characters, character.id)
        ? viewState({ characters: { [character.id]: latest.state.characters[character.id]! } }, viewer)
            .characters[character.id]!
        : null;
      return { character, sheet, position: latest.position };
    }),
  );
}
