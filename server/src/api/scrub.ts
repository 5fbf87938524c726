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
      // the head and the turn are read while the caller is checked, on the store's thread; nothing
      // read is answered before the check passes
      const id = String(req.params.id);
      const wanted = Number(req.query.position);
      const reads = liveReads({ oneRequest: true });
      const early = Number.isInteger(wanted) && wanted >= 0 ? readsAt(reads, id, wanted) : null;
      const { universe } = await asGameMaster(req);
      const position = intParam(req.query.position, "position", 0);
      const { head, turn } =
        early && universe.id === id && position === wanted ? early : readsAt(reads, universe.id, position);
      if (position > (await head))
        throw new ApiError(
          404,
          RejectionCode.NotFound,
          `position ${position} is past the head ${await head}`,
        );
      const { states, index } = scrubbing();
      const indexed = index.briefAt(universe.id, position);
      const { summary, source } = indexed
        ? { summary: indexed, source: { kind: "index" as const } }
        : await states.stateAt(reads, universe.id, position).then((at) => ({
            summary: summarize(at.state),
            source: at.source,
          }));
      const shown = await turn;
      return {
        position,
        head: await head,
        source,
        summary,
        turn: shown,
        deltas: shown ? shown.deltas.map((delta) => ({ position, ...delta })) : [],
      };
    }),
  );
}

/** The head and the turn at `position` (none at 0), both read at once; their failures are the awaiter's. */
function readsAt(reads: ReturnType<typeof liveReads>, universeId: string, position: number) {
  const head = reads.head(universeId);
  const turn: Promise<Turn | null> =
    position === 0
      ? Promise.resolve(null)
      : reads.turnsBetween(universeId, position - 1, position).then((turns) => turns[0] ?? null);
  head.catch(ignore);
  turn.catch(ignore);
  return { head, turn };
}
