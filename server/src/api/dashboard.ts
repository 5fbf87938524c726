import type { Application } from "express";
import { API } from "@loom/shared";
import { services } from "../services.ts";
import { route } from "./http.ts";
import { asGameMaster } from "./access.ts";
import { liveReads, shownUniverse } from "./live.ts";
import { callOpenUniverse } from "../universe/dispatch.ts";
import { log } from "../log.ts";

/**
 * A game master's glance at a universe without joining its room: who is playing (runs, and whether
 * a play session of theirs is open), the head, how far the turns are durable and how far the
 * database has them, and how many of its turns still wait for their prose. The web client's
 * list of universes shows it.
 *
 * Durable is the owner's own mark (DESIGN §7: a turn is acknowledged once the live store confirms
 * it, so with the write-ahead log or Redis the durable mark is the acknowledged head; with a
 * memory live store, which keeps nothing across a restart, it is what the database has). A
 * universe whose room is open nowhere has no turn in flight: everything in its live store's
 * stream is durable there, unless that store is memory.
 *
 * A run is present while a play session of its is open in a universe some process holds (its
 * lease). A process that stopped without ending its sessions (kill -9, a crash) left them open in
 * the records until the universe is next opened, which closes them (continuity.ts); nobody holds
 * that universe meanwhile (an embedded server's leases die with it; a Redis lease lapses after
 * LOOM_LEASE_TTL_MS), so its players are shown away. A universe another live process serves is
 * held, and its open sessions are its seats: shown as they are, and never closed from here.
 */
export function installDashboardRoutes(app: Application): void {
  app.get(
    API.dashboard.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const { turnStore } = services();
      const reads = liveReads();
      const [shown, head, persistedThrough, runs, open, stored, tail, holder] = await Promise.all([
        shownUniverse(universe),
        reads.head(universe.id),
        turnStore.headPosition(universe.id),
        turnStore.listRuns({ universeId: universe.id }),
        turnStore.openSessions(universe.id),
        // the stored ones counted from the index of untold turns, those not stored yet from the tail
        turnStore.untoldTurns(universe.id, { after: 0, limit: 0, count: true }),
        reads.tail(universe.id),
        services().liveStore.owner(universe.id),
      ]);
      const marks = await callOpenUniverse(universe.id, "marks").catch((error: unknown) => {
        log.warn("dashboard: the owner's marks could not be read", { err: error, universeId: universe.id });
        return null;
      });
      const live = services().liveStore.kind !== "memory";
      const durableThrough = Math.max(
        persistedThrough,
        marks ? marks.durableThrough : live ? head : persistedThrough,
      );
      const playing = new Set(holder ? open.map((session) => session.runId) : []);
      const characters = await Promise.all(runs.map((run) => turnStore.getCharacter(run.characterId)));
      return {
        universe: shown,
        head,
        durableThrough,
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
          window: Math.max(0, head - (universe.branchPosition ?? 0)),
          untold: (stored.total ?? 0) + (tail?.turns ?? []).filter((turn) => turn.narration === null).length,
        },
      };
    }),
  );
}
