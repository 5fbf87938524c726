import type { Application } from "express";
import { API } from "@loom/shared";
import { services } from "../services.ts";
import { route } from "./http.ts";
import { asGameMaster } from "./access.ts";
import { liveReads, shownUniverse } from "./live.ts";

/** How many of the newest turns the dashboard looks at for narration still being told. */
const NARRATION_WINDOW = 50;

/**
 * A game master's glance at a universe without joining its room: who is playing (runs, and whether
 * a play session of theirs is open), the head and how far the database has it, and how many of the
 * newest turns still wait for their prose. The web client's list of universes shows it.
 */
export function installDashboardRoutes(app: Application): void {
  app.get(
    API.dashboard.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const { turnStore } = services();
      const reads = liveReads();
      const [shown, head, persistedThrough, runs, open, newest] = await Promise.all([
        shownUniverse(universe),
        reads.head(universe.id),
        turnStore.headPosition(universe.id),
        turnStore.listRuns({ universeId: universe.id }),
        turnStore.openSessions(universe.id),
        reads.timeline(universe.id, { limit: NARRATION_WINDOW, order: "desc" }),
      ]);
      const playing = new Set(open.map((session) => session.runId));
      const characters = await Promise.all(runs.map((run) => turnStore.getCharacter(run.characterId)));
      return {
        universe: shown,
        head,
        persistedThrough,
        runs: runs.map((run, index) => ({
          runId: run.id,
          characterId: run.characterId,
          characterName: characters[index]?.name ?? null,
          playerId: run.playerId,
          state: run.state,
          present: playing.has(run.id),
        })),
        narration: {
          window: newest.turns.length,
          untold: newest.turns.filter((turn) => turn.narration === null && turn.kind !== "undo").length,
        },
      };
    }),
  );
}
