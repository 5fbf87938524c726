import type { Application } from "express";
import { API, viewTurn } from "@loom/shared";
import { services } from "../services.ts";
import { callUniverse } from "../universe/dispatch.ts";
import { caller, intParam, parseBody, route } from "./http.ts";
import { asGameMaster, isGm, requireMember, universeOr404, viewerFor } from "./access.ts";
import { fail } from "./runs.ts";
import { liveReads } from "./live.ts";
import { ApiError } from "./http.ts";
import { requestClient } from "./idempotency.ts";
import { publicUniverse, RejectionCode } from "@loom/shared";
import { BranchDepthError, type UniverseRecord } from "../persist/turn-store.ts";

/** The turns one diff may span: its deltas are read and sent whole, so a range is paged by the caller. */
export const DIFF_MAX_TURNS = 1_000;

/** Game-master tools over HTTP; the same operations the room offers its GM clients. */
export function installGmRoutes(app: Application): void {
  app.post(
    API.undo.path,
    route(async (req) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      const body = parseBody(API.undo.body, req.body);
      const actor = {
        kind: isGm(universe, me.playerId) ? ("gm" as const) : ("player" as const),
        playerId: me.playerId,
      };
      const result = await callUniverse(
        universe.id,
        "undo",
        actor,
        body.position,
        requestClient(req, me.playerId),
      );
      if (!result.ok) fail(result.rejection);
      return { turn: viewTurn(result.turn, await viewerFor(universe, me.playerId)) };
    }),
  );

  app.post(
    API.retcon.path,
    route(async (req) => {
      const { me, universe } = await asGameMaster(req);
      const body = parseBody(API.retcon.body, req.body);
      const result = await callUniverse(
        universe.id,
        "retcon",
        { kind: "gm", playerId: me.playerId },
        body.note,
        body.deltas,
        requestClient(req, me.playerId),
      );
      return result.ok ? { turn: result.turn } : fail(result.rejection);
    }),
  );

  /**
   * Branches the universe after position P: a new universe whose history is the parent's 1..P,
   * stored as a pointer (copy-on-write). Turns not yet persisted are flushed first.
   */
  app.post(
    API.branch.path,
    route(async (req, res) => {
      const { me, universe } = await asGameMaster(req);
      const body = parseBody(API.branch.body, req.body);
      const { turnStore, newId } = services();
      let head = await turnStore.headPosition(universe.id);
      if (body.position > head) {
        await callUniverse(universe.id, "flush");
        head = await turnStore.headPosition(universe.id);
      }
      if (body.position > head)
        throw new ApiError(
          409,
          RejectionCode.StalePosition,
          `position ${body.position} is past the head ${head}`,
        );
      const branch = await turnStore
        .branchUniverse({
          id: newId(),
          parentId: universe.id,
          position: body.position,
          name: body.name ?? `${universe.name} (branch at ${body.position})`,
          createdBy: me.playerId,
          settings: branchGms(universe, me.playerId),
          maxByCreator: services().config.maxUniversesPerPlayer,
        })
        .catch((error: unknown) => {
          if (error instanceof BranchDepthError)
            throw new ApiError(409, RejectionCode.Conflict, error.message);
          throw error;
        });
      // the table carries over: the parent's members and visibility
      const { memberships } = services();
      await memberships.copyMembers(universe.id, branch.id);
      const visible =
        universe.visibility === branch.visibility
          ? branch
          : ((await memberships.setVisibility(branch.id, universe.visibility)) ?? branch);
      res.status(201);
      return { universe: publicUniverse(visible) };
    }),
  );

  /** Tells a turn again; the new telling is appended to its narration, the first one kept. */
  app.post(
    API.retell.path,
    route(async (req, res) => {
      const { universe } = await asGameMaster(req);
      const position = intParam(req.params.position, "position", 1);
      const result = await callUniverse(universe.id, "retell", position);
      if (!result.ok) fail(result.rejection);
      res.status(201);
      return { narration: result.narration };
    }),
  );

  /** A checksummed snapshot of the current state, on request. */
  app.post(
    API.snapshot.path,
    route(async (req, res) => {
      const { universe } = await asGameMaster(req);
      const result = await callUniverse(universe.id, "snapshot");
      res.status(201);
      return { position: result.position };
    }),
  );

  app.get(
    API.diff.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const from = intParam(req.query.from, "from", 0);
      const to =
        req.query.to === undefined ? await liveReads().head(universe.id) : intParam(req.query.to, "to", 0);
      // the deltas run forward: applied to the state at `from` they give the state at `to`
      if (from > to)
        throw new ApiError(
          400,
          RejectionCode.InvalidMessage,
          `from (${from}) is after to (${to}): a diff runs forward, from the earlier position`,
        );
      if (to - from > DIFF_MAX_TURNS)
        throw new ApiError(
          400,
          RejectionCode.RangeTooLarge,
          `a diff spans at most ${DIFF_MAX_TURNS} turns; ask for ${from}..${to} in parts`,
        );
      const turns = await liveReads().turnsBetween(universe.id, from, to);
      return {
        from,
        to,
        deltas: turns.flatMap((turn) => turn.deltas.map((delta) => ({ position: turn.position, ...delta }))),
      };
    }),
  );
}

/**
 * The game masters of a branch besides its maker: the parent's, its creator included. Taken by a
 * co-GM, the branch would otherwise leave out the parent's creator, who could then not reach it,
 * and whom the co-GM could even mark removed there.
 */
function branchGms(parent: UniverseRecord, maker: string): { gms: string[] } | undefined {
  if (parent.createdBy === maker) return undefined;
  const gms = Array.isArray(parent.settings.gms) ? (parent.settings.gms as unknown[]) : [];
  const named = [parent.createdBy, ...gms.filter((id): id is string => typeof id === "string")];
  return { gms: [...new Set(named)].filter((id) => id !== maker) };
}
