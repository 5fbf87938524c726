import type { Application } from "express";
import {
  API,
  BOOKMARKED_TURN_KINDS,
  bookmarkOf,
  RejectionCode,
  viewState,
  viewTurn,
  type Bookmark,
  type Turn,
  type Viewer,
} from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseRecord } from "../persist/turn-store.ts";
import { expelFromUniverse, checkSeatsIn, tellMembersChanged } from "../universe/dispatch.ts";
import { ApiError, caller, parseBody, route } from "./http.ts";
import { asGameMaster, requireMember, universeOr404, viewerFor } from "./access.ts";
import { liveReads, shownUniverse } from "./live.ts";

/**
 * How many turns of each bookmarked kind a page of bookmarks reads, newest first: one query per
 * kind, and older bookmarks on the next page.
 */
const BOOKMARK_SCAN = 500;

/**
 * Most save points a page of bookmarks lists (or the cap, if higher: one player's at a position
 * fit in a page). A game master's list has every player's: where a stretch holds more, the page
 * ends higher up and the rest are the next page's.
 */
const SAVE_POINT_SCAN = 500;

/**
 * Time travel for everyone at the table: any member jumps through the timeline read-only and
 * sees it as visibility.ts lets them (a player: no GM notes, no other player's private notes, no
 * hidden roll); players name save points where they stand; a game master lists the snapshots and
 * hands a branch to one player as their own timeline. Rewinding for real stays a GM's branch.
 */
export function installTimeTravelRoutes(app: Application): void {
  app.get(
    API.jump.path,
    route(async (req) => {
      const { universe, viewer } = await asReader(req.params.id, await caller(req));
      const query = parseBody(API.jump.query, req.query, "query");
      const reads = liveReads();
      const head = await reads.head(universe.id);
      const position = query.position ?? head;
      if (position > head)
        throw new ApiError(404, RejectionCode.NotFound, `position ${position} is past the head ${head}`);
      const [at, turn] = await Promise.all([
        reads.stateAt(universe.id, position),
        position === 0 ? Promise.resolve(null) : reads.getTurn(universe.id, position),
      ]);
      return {
        position,
        head,
        state: viewState(at.state, viewer) as unknown as Record<string, unknown>,
        turn: turn ? viewTurn(turn, viewer) : null,
      };
    }),
  );

  app.get(
    API.bookmarks.path,
    route(async (req) => {
      const me = await caller(req);
      const { universe, viewer } = await asReader(req.params.id, me);
      const { before } = parseBody(API.bookmarks.query, req.query, "query");
      const reads = liveReads();
      const pages = await Promise.all(
        BOOKMARKED_TURN_KINDS.map((kind) =>
          reads.timeline(universe.id, {
            kind,
            limit: BOOKMARK_SCAN,
            order: "desc",
            searchPublic: viewer.role !== "gm",
            ...(before === undefined ? {} : { cursor: before }),
          }),
        ),
      );
      // every kind's turns are read from `before` down to its page's last turn: the page covers
      // down to the highest of those, and what lies below is the next page's
      let covered = 0;
      for (const page of pages)
        if (page.nextCursor !== null)
          covered = Math.max(covered, page.turns[page.turns.length - 1]!.position);
      const { savePoints, config } = services();
      const scan = Math.max(SAVE_POINT_SCAN, config.maxSavePoints);
      let saves = await savePoints.listSavePoints(universe.id, {
        ...(viewer.role === "gm" ? {} : { playerId: me.playerId }),
        ...(before === undefined ? {} : { before }),
        from: covered,
        limit: scan + 1,
      });
      if (saves.length > scan) {
        // the page ends above the position the scan stopped in, so none of its save points is cut
        // off; only an import past the cap puts more than a page's worth at one position, and
        // then the first of them are listed
        const stopped = saves[scan]!.position;
        const above = saves.filter((save) => save.position > stopped);
        covered = above.length > 0 ? stopped + 1 : stopped;
        saves = above.length > 0 ? above : saves.slice(0, scan);
      }
      const inPage = (position: number) => position >= covered && (before === undefined || position < before);
      const marks: Bookmark[] = [];
      const seen = new Set<number>();
      for (const turn of pages.flatMap((page) => page.turns)) {
        if (!inPage(turn.position)) continue;
        const mark = bookmarkOf(viewTurn(turn, viewer));
        if (mark && !seen.has(mark.position)) {
          seen.add(mark.position);
          marks.push(mark);
        }
      }
      // oldest first, so that the sort below keeps one position's save points by player and name
      for (const save of saves.reverse())
        marks.push({
          position: save.position,
          kind: "save_point",
          label: `save point: ${save.name}`,
          name: save.name,
        });
      marks.sort((a, b) => a.position - b.position || a.kind.localeCompare(b.kind));
      return { bookmarks: marks, nextBefore: covered > 0 ? covered : null };
    }),
  );

  app.post(
    API.nameSavePoint.path,
    route(async (req, res) => {
      const me = await caller(req);
      const { universe } = await asReader(req.params.id, me);
      const body = parseBody(API.nameSavePoint.body, req.body);
      const latest = await latestTurnOf(universe.id, me.playerId);
      if (latest === null || latest.position !== body.position)
        throw new ApiError(
          409,
          RejectionCode.NotYourLatestTurn,
          latest === null
            ? "you have no turn in this universe yet: a save point is named at your latest turn"
            : `a save point is named at your latest turn, ${latest.position}, not at ${body.position}`,
        );
      const { savePoints, config } = services();
      const named = await savePoints.nameSavePoint(
        { universeId: universe.id, playerId: me.playerId, name: body.name, position: body.position },
        config.maxSavePoints,
      );
      if (!named.ok)
        throw named.reason === "name_taken"
          ? new ApiError(
              409,
              RejectionCode.SavePointNameTaken,
              `you already have a save point named "${body.name}" here`,
            )
          : new ApiError(
              409,
              RejectionCode.TooManySavePoints,
              `a player may name ${config.maxSavePoints} save points in a universe`,
            );
      res.status(201);
      return { savePoint: named.savePoint };
    }),
  );

  app.delete(
    API.removeSavePoint.path,
    route(async (req) => {
      const me = await caller(req);
      const { universe } = await asReader(req.params.id, me);
      const name = parseBody(API.removeSavePoint.params, req.params).name;
      const removed = await services().savePoints.removeSavePoint(universe.id, me.playerId, name);
      if (!removed)
        throw new ApiError(404, RejectionCode.NotFound, `you have no save point named "${name}" here`);
      return { savePoint: removed };
    }),
  );

  app.get(
    API.listSnapshots.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      return { snapshots: await services().turnStore.listSnapshots(universe.id) };
    }),
  );

  app.put(
    API.handOver.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const body = parseBody(API.handOver.body, req.body);
      if (universe.parentId === null)
        throw new ApiError(
          409,
          RejectionCode.NotABranch,
          "only a branch is handed to a player: branch this universe first, then hand the branch over",
        );
      if (!(await services().turnStore.getPlayer(body.playerId)))
        throw new ApiError(404, RejectionCode.NotFound, `no player ${body.playerId}`);
      // a branch goes to someone already at its table: handing it to anyone else would seat a
      // stranger, or a member removed, without an invite they accepted
      const member = await services().memberships.getMember(universe.id, body.playerId);
      if (!member || member.removedAt !== null)
        throw new ApiError(
          409,
          RejectionCode.NotAMember,
          `player ${body.playerId} is not a member of this branch: invite them to it first`,
        );
      const handed = await services().memberships.handOver(universe.id, body.playerId);
      for (const playerId of handed.removed) await expelFromUniverse(universe.id, playerId);
      // and guests watching a public branch, who had no membership to remove
      await checkSeatsIn(universe.id);
      await tellMembersChanged(universe.id);
      return {
        universe: await shownUniverse(handed.universe),
        member: handed.member,
        removed: handed.removed,
      };
    }),
  );
}

/** The universe of `:id` and what its caller may see of it: members, game masters, public guests. */
async function asReader(
  id: unknown,
  me: { playerId: string },
): Promise<{ universe: UniverseRecord; viewer: Viewer }> {
  const universe = await universeOr404(String(id));
  await requireMember(universe, me.playerId);
  return { universe, viewer: await viewerFor(universe, me.playerId) };
}

/** The newest turn of any of the player's runs on this timeline (acknowledged turns included). */
async function latestTurnOf(universeId: string, playerId: string): Promise<Turn | null> {
  const runs = await services().turnStore.listRuns({ playerId });
  const reads = liveReads();
  let latest: Turn | null = null;
  for (const run of runs) {
    // an undone turn is not where the player stands: the newest of theirs still applied is
    const page = await reads.timeline(universeId, { runId: run.id, limit: 50, order: "desc" });
    const turn = page.turns.find((candidate) => candidate.status === "applied");
    if (turn && (latest === null || turn.position > latest.position)) latest = turn;
  }
  return latest;
}
