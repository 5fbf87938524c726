import type { Application } from "express";
import { API, RejectionCode, type ScrubView, type Turn } from "@loom/shared";
import { services } from "../services.ts";
import { ScrubIndex } from "../universe/scrub-index.ts";
import { ScrubStates } from "../universe/scrub-states.ts";
import { summarize } from "../universe/scrub-summary.ts";
import { asGameMaster } from "./access.ts";
import { ApiError, intParam, route } from "./http.ts";
import { liveReads } from "./live.ts";

/** One per server (a test process starts several in turn): what is kept belongs to its stores. */
let kept: { owner: object; states: ScrubStates; index: ScrubIndex } | null = null;
function scrubbing(): { states: ScrubStates; index: ScrubIndex } {
  const owner = services();
  if (kept?.owner !== owner) {
    kept?.index.close();
    kept = { owner, states: new ScrubStates(), index: new ScrubIndex(owner.turnStore) };
  }
  return kept;
}

const ignore = () => undefined;

/**
 * The timeline scrubber's one read per resting position: the state in brief, the turn and its
 * deltas. A game master's, so the turn is unredacted. A long universe's brief comes from its index
 * (scrub-index.ts), otherwise from a state read or walked (scrub-states.ts).
 */
export function installScrubRoute(app: Application): void {
  app.get(
    API.scrub.path,
    route(async (req): Promise<ScrubView> => {
      const id = String(req.params.id);
      const wanted = Number(req.query.position);
      const reads = liveReads({ oneRequest: true });
      // the live stream first, so that the universe's record, read after it, gives the head
      // (`headGiven`); the turn is read while the caller is checked, and answered only after
      await reads.tail(id).catch(ignore);
      const early = Number.isInteger(wanted) && wanted > 0 ? turnAt(reads, id, wanted) : null;
      const { universe } = await asGameMaster(req);
      const position = intParam(req.query.position, "position", 0);
      const head =
        universe.id === id ? await reads.headGiven(id, universe.headPosition) : await reads.head(universe.id);
      if (position > head)
        throw new ApiError(404, RejectionCode.NotFound, `position ${position} is past the head ${head}`);
      const turn =
        position === 0
          ? null
          : early && universe.id === id && position === wanted
            ? early
            : turnAt(reads, universe.id, position);
      const { states, index } = scrubbing();
      const indexed = index.briefAt(universe.id, position);
      if (indexed) states.forget(universe.id);
      const { summary, source } = indexed
        ? { summary: indexed, source: { kind: "index" as const } }
        : await states.stateAt(reads, universe.id, position).then((at) => ({
            summary: summarize(at.state),
            source: at.source,
          }));
      const shown = await turn;
      return {
        position,
        head,
        source,
        summary,
        turn: shown,
        deltas: shown ? shown.deltas.map((delta) => ({ position, ...delta })) : [],
      };
    }),
  );
}

/** The turn at `position`, read now; its failure is the awaiter's. */
function turnAt(
  reads: ReturnType<typeof liveReads>,
  universeId: string,
  position: number,
): Promise<Turn | null> {
  const turn = reads.getTurn(universeId, position);
  turn.catch(ignore);
  return turn;
}
