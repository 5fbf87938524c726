import type { Application } from "express";
import { API, POSITION_MAX, RejectionCode, type ScrubView, type Turn } from "@loom/shared";
import { services } from "../services.ts";
import { ScrubIndex } from "../universe/scrub-index.ts";
import { ScrubStates } from "../universe/scrub-states.ts";
import { ScrubTurns, type ScrubTurnSource } from "../universe/scrub-turns.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import type { LiveStore } from "../live/live-store.ts";
import { summarize } from "../universe/scrub-summary.ts";
import { universeAtOnce } from "../universe/live-turn.ts";
import { requireGm } from "./access.ts";
import { ApiError, caller, intParam, route } from "./http.ts";
import { liveReads } from "./live.ts";

interface Scrubbing {
  states: ScrubStates;
  index: ScrubIndex;
  /** Where a scrub reads the record and the turn: the store's copy on the server's thread where it has one. */
  reads: Pick<TurnStore, "universeAndTurn">;
  /** Where it reads the live stream: copies Redis says when to drop, where the store keeps them. */
  streams: Pick<LiveStore, "readStream">;
}

/** One per server (a test process starts several in turn): what is kept belongs to its stores. */
let kept: (Scrubbing & { owner: object }) | null = null;
function scrubbing(): Scrubbing {
  const owner = services();
  if (kept?.owner !== owner) {
    kept?.index.close();
    const { turnStore, liveStore } = owner;
    // a store that sees every write can be answered from copies of its reads (scrub-turns.ts)
    const turns = turnStore.watchChanges ? new ScrubTurns(turnStore as ScrubTurnSource) : null;
    kept = {
      owner,
      states: new ScrubStates(),
      index: new ScrubIndex(turnStore, turns),
      reads: turns ?? turnStore,
      streams: liveStore.streamCopies?.() ?? liveStore,
    };
  }
  return kept;
}

const ignore = () => undefined;

/**
 * The timeline scrubber's one read per resting position: the state in brief, the turn and its
 * deltas. A game master's, so the turn is unredacted. A long universe's brief comes from its index
 * (scrub-index.ts), otherwise from a state read or walked (scrub-states.ts). The universe's record
 * (who its game masters are), the turn and the head come from one statement to the database and
 * one read of the live stream, made together (live-turn.ts): a drag makes many of these reads, and
 * on a busy machine each wait on another process is a chance to lose the core. So both are
 * answered from copies where they are kept: the store's (scrub-turns.ts) and the live stream's,
 * which Redis says when to drop (stream-copies.ts).
 */
export function installScrubRoute(app: Application): void {
  app.get(
    API.scrub.path,
    route(async (req): Promise<ScrubView> => {
      // nothing is read for a request without a token (its 401 comes first)
      if (req.headers.authorization === undefined) await caller(req);
      const id = String(req.params.id);
      const wanted = Number(req.query.position);
      const reads = liveReads({ oneRequest: true });
      const { states, index, reads: stored, streams } = scrubbing();
      // the stream and the store are read while the caller's token is checked
      // a position the parameter's check refuses is read as 0: the database takes no other
      const readable = Number.isInteger(wanted) && wanted > 0 && wanted <= POSITION_MAX;
      const read = universeAtOnce(stored, streams, id, readable ? wanted : 0);
      read.catch(ignore);
      const me = await caller(req);
      const at = await read;
      if (!at) throw new ApiError(404, RejectionCode.UnknownUniverse, `no universe ${id}`);
      requireGm(at.universe, me.playerId);
      const position = intParam(req.query.position, "position", 0);
      const { head, turn: shown } =
        "careful" in at || position !== wanted ? await carefully(reads, id, position) : at;
      if (position > head)
        throw new ApiError(404, RejectionCode.NotFound, `position ${position} is past the head ${head}`);
      const { universe } = at;
      const indexed = index.briefAt(universe.id, position);
      if (indexed) states.forget(universe.id);
      const { summary, source } = indexed
        ? { summary: indexed, source: { kind: "index" as const } }
        : await states.stateAt(reads, universe.id, position).then((walked) => ({
            summary: summarize(walked.state),
            source: walked.source,
          }));
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

/** The stream, then the store, as LiveReads orders them (see live-turn.ts for why). */
async function carefully(
  reads: ReturnType<typeof liveReads>,
  universeId: string,
  position: number,
): Promise<{ head: number; turn: Turn | null }> {
  const head = await reads.head(universeId);
  return { head, turn: position === 0 || position > head ? null : await reads.getTurn(universeId, position) };
}
