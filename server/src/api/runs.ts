import type { Application } from "express";
import { API, RejectionCode, earnsCredit, recapBytes, runActor } from "@loom/shared";
import { services } from "../services.ts";
import { callUniverse, callUniverseHoldingTurns } from "../universe/dispatch.ts";
import { recapFor } from "../universe/continuity.ts";
import { ApiError, caller, parseBody, route, type Caller } from "./http.ts";
import { descendsFrom, isGm, mayReadUniverse, requireMember, universeOr404 } from "./access.ts";
import type { RunRecord } from "../persist/turn-store.ts";
import type { Rejection } from "@loom/shared";

const STATUS: Partial<Record<string, number>> = {
  [RejectionCode.NotYourCharacter]: 403,
  [RejectionCode.NotAllowed]: 403,
  [RejectionCode.UnknownRun]: 404,
  [RejectionCode.NotFound]: 404,
  [RejectionCode.RunNotActive]: 409,
  [RejectionCode.Conflict]: 409,
  [RejectionCode.InvalidAction]: 409,
  [RejectionCode.NothingToUndo]: 409,
  [RejectionCode.UndoConflict]: 409,
  [RejectionCode.Unavailable]: 503,
};

export function fail(rejection: Rejection): never {
  throw new ApiError(STATUS[rejection.code] ?? 400, rejection.code, rejection.message);
}

/** The run, if the caller may see it: its player while still admitted to its universe, or a GM. */
async function runFor(me: Caller, runId: string): Promise<RunRecord> {
  const run = await services().turnStore.getRun(runId);
  if (!run) throw new ApiError(404, RejectionCode.UnknownRun, `no run ${runId}`);
  const universe = await universeOr404(run.universeId);
  if (run.playerId !== me.playerId && !isGm(universe, me.playerId)) {
    if (!(await mayReadUniverse(universe, me.playerId)))
      throw new ApiError(404, RejectionCode.UnknownRun, `no run ${runId}`);
    throw new ApiError(403, RejectionCode.NotYourCharacter, "this run belongs to another player");
  }
  await requireMember(universe, me.playerId);
  return run;
}

export function installRunRoutes(app: Application): void {
  app.get(
    API.run.path,
    route(async (req) => ({ run: await runFor(await caller(req), String(req.params.id)) })),
  );

  app.get(
    API.runSessions.path,
    route(async (req) => {
      const run = await runFor(await caller(req), String(req.params.id));
      return { sessions: await services().turnStore.listSessions(run.id) };
    }),
  );

  /**
   * "Last time on…" for the run as of now; the same timeline always gives the same bytes. Told by
   * the universe's room where one is open or turns acknowledged are not yet written (a room closing
   * as a player comes back); from the database where it holds them all.
   */
  app.get(
    API.recap.path,
    route(async (req, res) => {
      const run = await runFor(await caller(req), String(req.params.id));
      const { turnStore } = services();
      let recap = await callUniverseHoldingTurns(run.universeId, "recap", run.id);
      if (!recap) {
        const latest = await turnStore.latestState(run.universeId, { checksummed: false });
        recap = await recapFor(turnStore, null, run, latest.state, latest.position);
      }
      res.type("application/json").send(recapBytes(recap));
      return undefined;
    }),
  );

  // resuming takes a paused or an abandoned run alike
  for (const [path, paused] of [
    [API.pauseRun.path, true],
    [API.resumeRun.path, false],
  ] as const) {
    app.post(
      path,
      route(async (req) => {
        const me = await caller(req);
        const run = await runFor(me, String(req.params.id));
        const result = await callUniverse(
          run.universeId,
          "setRunPaused",
          runActor(run, me.playerId),
          run.id,
          paused,
        );
        return result.ok ? { run: result.run, turn: result.turn } : fail(result.rejection);
      }),
    );
  }

  app.post(
    API.completeRun.path,
    route(async (req) => {
      const me = await caller(req);
      const run = await runFor(me, String(req.params.id));
      const body = parseBody(API.completeRun.body, req.body);
      const result = await callUniverse(
        run.universeId,
        "finishRun",
        runActor(run, me.playerId),
        run.id,
        "completed",
        body.reason,
      );
      // the answer waits for the completion to persist, so the record is the tally it was credited
      // from (or not) and the shared rule gives the projection's verdict
      return result.ok
        ? { run: result.run, turn: result.turn, credited: !!result.run && earnsCredit(result.run) }
        : fail(result.rejection);
    }),
  );

  app.post(
    API.abandonRun.path,
    route(async (req) => {
      const me = await caller(req);
      const run = await runFor(me, String(req.params.id));
      const result = await callUniverse(
        run.universeId,
        "finishRun",
        runActor(run, me.playerId),
        run.id,
        "abandoned",
        null,
      );
      return result.ok ? { run: result.run, turn: result.turn } : fail(result.rejection);
    }),
  );

  /** A new run of an existing character: after finishing one, or in a branch of its universe. */
  app.post(
    API.startRun.path,
    route(async (req, res) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      const body = parseBody(API.startRun.body, req.body);
      const { turnStore, newId } = services();
      const character = await turnStore.getCharacter(body.characterId);
      if (!character)
        throw new ApiError(404, RejectionCode.UnknownCharacter, `no character ${body.characterId}`);
      if (character.playerId !== me.playerId)
        throw new ApiError(403, RejectionCode.NotYourCharacter, "this character belongs to another player");
      if (!(await descendsFrom(universe.id, character.universeId)))
        throw new ApiError(
          409,
          RejectionCode.UnknownCharacter,
          "this character belongs to another universe (only its own universe and its branches)",
        );
      const started = await callUniverse(universe.id, "startRun", {
        id: newId(),
        playerId: me.playerId,
        characterId: character.id,
        universeId: universe.id,
        therapeuticFocus: body.therapeuticFocus ?? null,
      });
      if (!started.ok)
        throw new ApiError(
          409,
          RejectionCode.Conflict,
          `the character already has an open run here (${started.open.id})`,
        );
      res.status(201);
      return { run: started.run };
    }),
  );

  app.get(
    API.progression.path,
    route(async (req) => {
      const me = await caller(req);
      return { progression: await services().turnStore.getProgression(me.playerId) };
    }),
  );
}
