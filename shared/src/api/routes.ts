import { z } from "zod";
import { RejectionCode as C, type RejectionCode } from "../rejection.ts";
import { recapSchema, stateAtSchema, timelinePageSchema } from "./records.ts";
import * as req from "./requests.ts";
import * as res from "./responses.ts";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** Refusal codes a route may answer, by HTTP status. */
export type RouteErrors = Partial<Record<number, readonly RejectionCode[]>>;

/** One HTTP route: what it accepts, what it answers, and the codes it may refuse with. */
export interface ApiRoute {
  method: HttpMethod;
  /** Express syntax: `/api/universes/:id`. */
  path: string;
  summary: string;
  tag: string;
  /**
   * `bearer`: an access token is required; `optional`: without one, public data only;
   * `operator`: anyone, and the operator's token (LOOM_OPERATOR_TOKEN) shows the details too.
   */
  auth: "bearer" | "optional" | "operator" | "none";
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /**
   * A read that rebuilds or searches a universe's history: one player's are made a few at a time
   * (`heavyReads` in server/src/api/limits.ts).
   */
  heavy?: boolean;
  /** Whether the route honours an `Idempotency-Key` header (see server/src/api/idempotency.ts). */
  idempotent?: boolean;
  status: number;
  response: z.ZodType;
  /** Other statuses answered with the same body as `status`, each with what it means. */
  alsoAnswers?: Record<number, string>;
  /** The media type of the answer; JSON unless said. */
  produces?: "application/json" | "text/html" | "text/plain" | "application/x-ndjson";
  errors: RouteErrors;
}

function errors(...parts: RouteErrors[]): RouteErrors {
  const merged: Record<number, RejectionCode[]> = {};
  for (const part of parts)
    for (const [status, codes] of Object.entries(part)) {
      const list = (merged[Number(status)] ??= []);
      for (const code of codes ?? []) if (!list.includes(code)) list.push(code);
    }
  return merged;
}

const AUTH: RouteErrors = { 401: [C.Unauthorized, C.TokenExpired] };
const INPUT: RouteErrors = { 400: [C.InvalidMessage] };
const BODY: RouteErrors = {
  400: [C.InvalidMessage],
  413: [C.PayloadTooLarge],
  415: [C.UnsupportedMediaType],
};
const WRITE: RouteErrors = { 429: [C.RateLimited] };
// a player with too many heavy reads under way and waiting (server/src/api/limits.ts)
const HEAVY: RouteErrors = { 429: [C.RateLimited] };
const MEMBER: RouteErrors = { 403: [C.NotAMember, C.MemberRemoved], 404: [C.UnknownUniverse] };
const GM: RouteErrors = { 403: [C.NotAllowed], 404: [C.UnknownUniverse] };
// as server/src/api/idempotency.ts answers them: a key reused for another request is 422
const IDEMPOTENT: RouteErrors = {
  400: [C.InvalidMessage],
  409: [C.RequestInProgress],
  422: [C.IdempotencyKeyReused],
};
// a universe's owner that does not answer in time: what was asked may have been done
const UNIVERSE_BUSY: RouteErrors = { 503: [C.Unavailable, C.OutcomeUnknown] };
const RUN: RouteErrors = {
  403: [C.NotYourCharacter, C.NotAMember, C.MemberRemoved],
  404: [C.UnknownRun, C.UnknownUniverse],
};
const RUN_CHANGE: RouteErrors = errors(RUN, WRITE, UNIVERSE_BUSY, {
  403: [C.NotAllowed],
  409: [C.RunNotActive, C.InvalidAction],
});

const universeParams = z.object({ id: z.string() });
const runParams = z.object({ id: z.string() });
const turnParams = z.object({ id: z.string(), position: req.intParamSchema("position", 1) });

/**
 * Every HTTP route the server registers. A route the server adds without an entry here fails the
 * contract test (test/api-contract.test.ts), which compares this table with the Express router.
 */
export const API = {
  health: {
    method: "get",
    path: "/healthz",
    summary:
      "Liveness (200 while the process answers); `degraded` names a dependency that does not answer or counts universes whose turns are not reaching the database (which, and the errors, for the operator's token)",
    tag: "operations",
    auth: "operator",
    status: 200,
    response: res.healthSchema,
    errors: {},
  },
  ready: {
    method: "get",
    path: "/readyz",
    summary:
      "Readiness: 200 when the database and the live store answer, 503 with the reasons when not (the errors' classes; their messages for the operator's token)",
    tag: "operations",
    auth: "operator",
    status: 200,
    response: res.readySchema,
    alsoAnswers: {
      503: "Not ready: `ready` is false and `unreachable` names each dependency that did not answer",
    },
    errors: {},
  },
  metrics: {
    method: "get",
    path: "/metrics",
    summary:
      "Metrics of this process in the Prometheus text exposition format (version 0.0.4): turn pipeline " +
      "histograms, turns, rooms, clients and universes open, persist lag, dependency errors, narration, Node.js",
    tag: "operations",
    auth: "none",
    status: 200,
    response: z.string(),
    produces: "text/plain",
    errors: {},
  },
  metricsJson: {
    method: "get",
    path: "/metrics.json",
    summary:
      "Timings of this process since it started, in log-spaced buckets (read by the load generator); which universes fail, for the operator's token",
    tag: "operations",
    auth: "operator",
    status: 200,
    response: res.metricsSchema,
    errors: {},
  },
  openApi: {
    method: "get",
    path: "/api/openapi.json",
    summary: "This document: the HTTP API as OpenAPI 3.1",
    tag: "operations",
    auth: "none",
    status: 200,
    response: res.openApiDocumentSchema,
    errors: {},
  },
  docs: {
    method: "get",
    path: "/api/docs",
    summary: "The API reference as a web page, rendered from the OpenAPI document",
    tag: "operations",
    auth: "none",
    status: 200,
    response: z.string(),
    produces: "text/html",
    errors: {},
  },
  register: {
    method: "post",
    path: "/api/players",
    summary: "Registers a player (with a password, the name becomes a login name) and logs them in",
    tag: "accounts",
    auth: "none",
    body: req.registerBodySchema,
    status: 201,
    response: res.registeredSchema,
    errors: errors(BODY, WRITE, { 409: [C.NameTaken] }),
  },
  login: {
    method: "post",
    path: "/api/auth/login",
    summary: "Logs in with a login name and password",
    tag: "accounts",
    auth: "none",
    body: req.loginBodySchema,
    status: 200,
    response: res.authSessionSchema,
    errors: errors(BODY, WRITE, { 401: [C.InvalidCredentials] }),
  },
  refresh: {
    method: "post",
    path: "/api/auth/refresh",
    summary: "Trades a refresh token for a new access token and the next refresh token",
    tag: "accounts",
    auth: "none",
    body: req.refreshBodySchema,
    status: 200,
    response: res.authSessionSchema,
    errors: errors(BODY, WRITE, AUTH),
  },
  logout: {
    method: "post",
    path: "/api/auth/logout",
    summary: "Logs out one device: its refresh token stops working",
    tag: "accounts",
    auth: "none",
    body: req.refreshBodySchema,
    status: 200,
    response: res.okSchema,
    errors: errors(BODY, WRITE, { 401: [C.Unauthorized] }),
  },
  logoutAll: {
    method: "post",
    path: "/api/auth/logout-all",
    summary: "Logs out everywhere: every token of the player stops working",
    tag: "accounts",
    auth: "bearer",
    status: 200,
    response: res.okSchema,
    errors: errors(AUTH, WRITE),
  },
  setPassword: {
    method: "post",
    path: "/api/me/password",
    summary: "Sets a password, or changes it given the current one; logs out every earlier session",
    tag: "accounts",
    auth: "bearer",
    body: req.passwordBodySchema,
    status: 200,
    response: res.passwordSetSchema,
    errors: errors(AUTH, BODY, WRITE, { 401: [C.InvalidCredentials], 409: [C.NameTaken] }),
  },
  me: {
    method: "get",
    path: "/api/me",
    summary: "The caller, their account and their runs",
    tag: "accounts",
    auth: "bearer",
    status: 200,
    response: res.meSchema,
    errors: AUTH,
  },
  progression: {
    method: "get",
    path: "/api/me/progression",
    summary: "The caller's meta-progression: what completed runs credited",
    tag: "runs",
    auth: "bearer",
    status: 200,
    response: res.progressionResponseSchema,
    errors: AUTH,
  },
  createUniverse: {
    method: "post",
    path: "/api/universes",
    summary: "Creates a universe (private unless said); the caller is its game master",
    tag: "universes",
    auth: "bearer",
    body: req.universeBodySchema,
    idempotent: true,
    status: 201,
    response: res.universeResponseSchema,
    errors: errors(AUTH, BODY, WRITE, IDEMPOTENT, { 409: [C.TooManyUniverses] }),
  },
  listUniverses: {
    method: "get",
    path: "/api/universes",
    summary: "Public universes and those the caller belongs to, newest first, each with the caller's role",
    tag: "universes",
    auth: "optional",
    query: z.object({ limit: req.intParamSchema("limit", 1).optional() }),
    status: 200,
    response: res.universesResponseSchema,
    errors: errors(AUTH, INPUT),
  },
  getUniverse: {
    method: "get",
    path: "/api/universes/:id",
    summary: "A universe (a public one needs no token)",
    tag: "universes",
    auth: "optional",
    params: universeParams,
    status: 200,
    response: res.universeResponseSchema,
    errors: errors(AUTH, MEMBER),
  },
  changeUniverse: {
    method: "patch",
    path: "/api/universes/:id",
    summary: "Game master: makes the universe public or private, sets what a new character's sheet may hold",
    tag: "membership",
    auth: "bearer",
    params: universeParams,
    body: req.universeChangeBodySchema,
    status: 200,
    response: res.universeResponseSchema,
    errors: errors(AUTH, GM, BODY, WRITE),
  },
  dashboard: {
    method: "get",
    path: "/api/universes/:id/dashboard",
    heavy: true,
    summary: "Game master: who is playing, the head, how far it is persisted, narration still untold",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.dashboardSchema,
    errors: errors(HEAVY, AUTH, GM),
  },
  openUniverse: {
    method: "post",
    path: "/api/universes/:id/open",
    summary: "Makes sure the universe's room is up; clients then join it by id",
    tag: "universes",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.openedSchema,
    errors: errors(AUTH, MEMBER, WRITE, UNIVERSE_BUSY, { 503: [C.DamagedSnapshot] }),
  },
  createCharacter: {
    method: "post",
    path: "/api/universes/:id/characters",
    summary: "Creates a character (a Fate sheet) in the universe and starts its run",
    tag: "characters",
    auth: "bearer",
    params: universeParams,
    body: req.characterBodySchema,
    idempotent: true,
    status: 201,
    response: res.characterCreatedSchema,
    errors: errors(AUTH, MEMBER, BODY, WRITE, IDEMPOTENT, {
      409: [C.TooManyCharacters],
      422: [C.OverCharacterLimits],
    }),
  },
  character: {
    method: "get",
    path: "/api/characters/:id",
    summary: "A character's full sheet as the story has left it: for its player and game masters",
    tag: "characters",
    auth: "bearer",
    params: z.object({ id: z.string() }),
    query: z.object({ universe: req.pathIdSchema.optional() }),
    status: 200,
    response: res.characterSheetResponseSchema,
    errors: errors(AUTH, MEMBER, INPUT, { 403: [C.NotYourCharacter], 404: [C.UnknownCharacter] }),
  },
  timeline: {
    method: "get",
    path: "/api/universes/:id/timeline",
    heavy: true,
    summary: "The timeline, paged and filtered (character, run, kind, full-text search)",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: req.timelineQuerySchema,
    status: 200,
    response: timelinePageSchema,
    errors: errors(HEAVY, AUTH, MEMBER, INPUT),
  },
  turn: {
    method: "get",
    path: "/api/universes/:id/turns/:position",
    summary: "One turn, as the caller may see it",
    tag: "timeline",
    auth: "bearer",
    params: turnParams,
    status: 200,
    response: res.turnResponseSchema,
    errors: errors(AUTH, MEMBER, INPUT, { 404: [C.NotFound] }),
  },
  state: {
    method: "get",
    path: "/api/universes/:id/state",
    heavy: true,
    summary: "Game master: the state at a position (default: the head), with its checksum",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: z.object({ position: req.intParamSchema("position", 0).optional() }),
    status: 200,
    response: stateAtSchema,
    errors: errors(HEAVY, AUTH, GM, INPUT, { 404: [C.NotFound] }),
  },
  worldNames: {
    method: "get",
    path: "/api/universes/:id/names",
    heavy: true,
    summary:
      "Game master: the ids and labels of the world's NPCs, locations, factions and quests at the head, for a command's picker (a few kilobytes where the state is hundreds)",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.worldNamesResponseSchema,
    errors: errors(HEAVY, AUTH, GM),
  },
  scrub: {
    method: "get",
    path: "/api/universes/:id/scrub",
    heavy: true,
    summary:
      "Game master: the timeline scrubber at a position: the state there in brief, the turn and its deltas",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: z.object({ position: req.intParamSchema("position", 0) }),
    status: 200,
    response: res.scrubSchema,
    errors: errors(HEAVY, AUTH, GM, INPUT, { 404: [C.NotFound] }),
  },
  export: {
    method: "get",
    path: "/api/universes/:id/export",
    summary:
      "The universe as a file, streamed: JSONL (docs/export-format.md; text/markdown with format=markdown, the story for a reader). A game master gets everything, anyone else their own player's view",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: req.exportQuerySchema,
    status: 200,
    response: z.string(),
    produces: "application/x-ndjson",
    // 429: past the player's exports (LOOM_LIMIT_EXPORT_PLAYER); 503: the process's (LOOM_MAX_EXPORTS)
    errors: errors(AUTH, MEMBER, INPUT, UNIVERSE_BUSY, {
      403: [C.NotAllowed],
      404: [C.NotFound],
      429: [C.RateLimited],
    }),
  },
  diff: {
    method: "get",
    path: "/api/universes/:id/diff",
    heavy: true,
    summary: "Game master: the deltas from one position to a later one (at most 1,000 turns apart)",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: z.object({
      from: req.intParamSchema("from", 0),
      to: req.intParamSchema("to", 0).optional(),
    }),
    status: 200,
    response: res.diffSchema,
    errors: errors(HEAVY, AUTH, GM, INPUT, { 400: [C.RangeTooLarge] }),
  },
  undo: {
    method: "post",
    path: "/api/universes/:id/undo",
    summary: "Undoes a turn: a game master the latest applied (or `position`), a player their own latest",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    body: req.undoBodySchema,
    idempotent: true,
    status: 200,
    response: res.turnResponseSchema,
    errors: errors(AUTH, MEMBER, BODY, WRITE, IDEMPOTENT, UNIVERSE_BUSY, {
      403: [C.NotAllowed, C.NotYourCharacter],
      409: [C.NothingToUndo, C.UndoConflict],
    }),
  },
  retcon: {
    method: "post",
    path: "/api/universes/:id/retcon",
    summary: "Game master: a retcon turn with a note and the deltas that correct canon",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    body: req.retconBodySchema,
    idempotent: true,
    status: 200,
    response: res.turnResponseSchema,
    errors: errors(AUTH, GM, BODY, WRITE, IDEMPOTENT, UNIVERSE_BUSY, {
      400: [C.InvalidValue],
      409: [C.InvalidAction],
    }),
  },
  branch: {
    method: "post",
    path: "/api/universes/:id/branch",
    summary: "Game master: a new universe sharing this one's history up to `position` (copy-on-write)",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    body: req.branchBodySchema,
    idempotent: true,
    status: 201,
    response: res.universeResponseSchema,
    errors: errors(AUTH, GM, BODY, WRITE, IDEMPOTENT, {
      409: [C.StalePosition, C.Conflict, C.TooManyUniverses],
    }),
  },
  retell: {
    method: "post",
    path: "/api/universes/:id/turns/:position/retellings",
    summary: "Game master: tells a turn again; the telling is appended, the first one kept",
    tag: "game master",
    auth: "bearer",
    params: turnParams,
    status: 201,
    response: res.tellingResponseSchema,
    errors: errors(AUTH, GM, INPUT, WRITE, UNIVERSE_BUSY, { 404: [C.NotFound], 409: [C.Conflict] }),
  },
  snapshot: {
    method: "post",
    path: "/api/universes/:id/snapshots",
    summary: "Game master: a checksummed snapshot of the current state",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    idempotent: true,
    status: 201,
    response: res.snapshotTakenSchema,
    errors: errors(AUTH, GM, WRITE, IDEMPOTENT, UNIVERSE_BUSY),
  },
  jump: {
    method: "get",
    path: "/api/universes/:id/jump",
    heavy: true,
    summary:
      "Time travel, read-only: the state and the turn at a position (default: the head) as the caller may see them",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: z.object({ position: req.intParamSchema("position", 0).optional() }),
    status: 200,
    response: res.jumpResponseSchema,
    errors: errors(HEAVY, AUTH, MEMBER, INPUT, { 404: [C.NotFound] }),
  },
  bookmarks: {
    method: "get",
    path: "/api/universes/:id/bookmarks",
    heavy: true,
    summary:
      "Places to jump to: session starts, scene starts, quests, milestones, major events, and named save points (the caller's own; a game master's list has everyone's), newest first by page, in position order within one",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    query: z.object({ before: req.intParamSchema("before", 1).optional() }),
    status: 200,
    response: res.bookmarksResponseSchema,
    errors: errors(HEAVY, AUTH, MEMBER, INPUT),
  },
  nameSavePoint: {
    method: "post",
    path: "/api/universes/:id/save-points",
    summary: "Player: names a save point at their own latest turn (listed with the bookmarks)",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    body: req.savePointBodySchema,
    status: 201,
    response: res.savePointResponseSchema,
    errors: errors(AUTH, MEMBER, BODY, WRITE, {
      409: [C.NotYourLatestTurn, C.SavePointNameTaken, C.TooManySavePoints],
    }),
  },
  removeSavePoint: {
    method: "delete",
    path: "/api/universes/:id/save-points/:name",
    summary:
      "Player: forgets one of their save points (by its name, URL-encoded), which frees its place under the cap",
    tag: "timeline",
    auth: "bearer",
    params: z.object({ id: z.string(), name: req.savePointNameSchema }),
    status: 200,
    response: res.savePointResponseSchema,
    errors: errors(AUTH, MEMBER, INPUT, WRITE, { 404: [C.NotFound] }),
  },
  listSnapshots: {
    method: "get",
    path: "/api/universes/:id/snapshots",
    summary: "Game master: the snapshots a jump starts from, the inherited ones too, with their checksums",
    tag: "timeline",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.snapshotsResponseSchema,
    errors: errors(AUTH, GM),
  },
  handOver: {
    method: "put",
    path: "/api/universes/:id/solo",
    summary:
      "Game master: hands a branch to one player as their own solo timeline (its only member; others need a new invite)",
    tag: "game master",
    auth: "bearer",
    params: universeParams,
    body: req.soloBodySchema,
    status: 200,
    response: res.soloResponseSchema,
    errors: errors(AUTH, GM, BODY, WRITE, { 404: [C.NotFound], 409: [C.NotABranch, C.NotAMember] }),
  },
  dice: {
    method: "get",
    path: "/api/universes/:id/dice",
    summary: "The commitments of the timeline's dice, and the secrets revealed (for verifyDice)",
    tag: "dice",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.diceResponseSchema,
    // as readable as the timeline whose rolls they check
    errors: errors(AUTH, MEMBER),
  },
  revealDice: {
    method: "post",
    path: "/api/universes/:id/reveal",
    summary: "Game master: reveals the dice secret; the universe rolls no more",
    tag: "dice",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.diceResponseSchema,
    errors: errors(AUTH, GM, WRITE, UNIVERSE_BUSY),
  },
  createInvite: {
    method: "post",
    path: "/api/universes/:id/invites",
    summary: "Game master: a new invite code, unlimited unless limited",
    tag: "membership",
    auth: "bearer",
    params: universeParams,
    body: req.inviteBodySchema,
    idempotent: true,
    status: 201,
    response: res.inviteResponseSchema,
    errors: errors(AUTH, GM, BODY, WRITE, IDEMPOTENT),
  },
  listInvites: {
    method: "get",
    path: "/api/universes/:id/invites",
    summary: "Game master: the universe's invites",
    tag: "membership",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.invitesResponseSchema,
    errors: errors(AUTH, GM),
  },
  revokeInvite: {
    method: "delete",
    path: "/api/universes/:id/invites/:code",
    summary: "Game master: revokes an invite",
    tag: "membership",
    auth: "bearer",
    params: z.object({ id: z.string(), code: req.pathIdSchema }),
    status: 200,
    response: res.inviteResponseSchema,
    errors: errors(AUTH, GM, INPUT, WRITE, { 404: [C.InvalidInvite] }),
  },
  acceptInvite: {
    method: "post",
    path: "/api/invites/:code/accept",
    summary: "Becomes a member of the universe the code is for",
    tag: "membership",
    auth: "bearer",
    params: z.object({ code: req.pathIdSchema }),
    idempotent: true,
    status: 200,
    response: res.acceptedInviteSchema,
    errors: errors(AUTH, INPUT, WRITE, IDEMPOTENT, {
      403: [C.MemberRemoved],
      404: [C.InvalidInvite, C.UnknownUniverse],
    }),
  },
  listMembers: {
    method: "get",
    path: "/api/universes/:id/members",
    summary: "Game master: the members with their names, removed ones included (with `removedAt`)",
    tag: "membership",
    auth: "bearer",
    params: universeParams,
    status: 200,
    response: res.membersResponseSchema,
    errors: errors(AUTH, GM),
  },
  addMember: {
    method: "put",
    path: "/api/universes/:id/members/:playerId",
    summary: "Game master: adds a player, or re-admits one removed",
    tag: "membership",
    auth: "bearer",
    params: z.object({ id: z.string(), playerId: req.pathIdSchema }),
    status: 200,
    response: res.memberResponseSchema,
    errors: errors(AUTH, GM, INPUT, WRITE, { 404: [C.NotFound] }),
  },
  removeMember: {
    method: "delete",
    path: "/api/universes/:id/members/:playerId",
    summary: "Game master: removes a player; their connections close and they can no longer play here",
    tag: "membership",
    auth: "bearer",
    params: z.object({ id: z.string(), playerId: req.pathIdSchema }),
    status: 200,
    response: res.memberResponseSchema,
    errors: errors(AUTH, GM, INPUT, WRITE, { 404: [C.NotFound], 409: [C.NotAllowed] }),
  },
  run: {
    method: "get",
    path: "/api/runs/:id",
    summary: "A run: its player's (while admitted to its universe) or a game master's",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    status: 200,
    response: res.runResponseSchema,
    errors: errors(AUTH, RUN),
  },
  runSessions: {
    method: "get",
    path: "/api/runs/:id/sessions",
    heavy: true,
    summary: "The run's play sessions, oldest first, each with the summary written when it ended",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    status: 200,
    response: res.sessionsResponseSchema,
    errors: errors(HEAVY, AUTH, RUN),
  },
  recap: {
    method: "get",
    path: "/api/runs/:id/recap",
    heavy: true,
    summary: '"Last time on…" for the run as of now (the same timeline gives the same bytes)',
    tag: "runs",
    auth: "bearer",
    params: runParams,
    status: 200,
    response: recapSchema,
    errors: errors(HEAVY, AUTH, RUN),
  },
  pauseRun: {
    method: "post",
    path: "/api/runs/:id/pause",
    summary: "Pauses a run",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    idempotent: true,
    status: 200,
    response: res.runChangedSchema,
    errors: errors(AUTH, RUN_CHANGE, IDEMPOTENT),
  },
  resumeRun: {
    method: "post",
    path: "/api/runs/:id/resume",
    summary:
      "Resumes a paused or abandoned run (an abandoned one only while the character has no other open run here)",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    idempotent: true,
    status: 200,
    response: res.runChangedSchema,
    errors: errors(AUTH, RUN_CHANGE, IDEMPOTENT, { 409: [C.Conflict] }),
  },
  completeRun: {
    method: "post",
    path: "/api/runs/:id/complete",
    summary:
      "Completes a run with a reason (retired, died, victory…); credits progression once if the run was played",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    body: req.completeRunBodySchema,
    idempotent: true,
    status: 200,
    response: res.runCompletedSchema,
    errors: errors(AUTH, RUN_CHANGE, BODY, IDEMPOTENT),
  },
  abandonRun: {
    method: "post",
    path: "/api/runs/:id/abandon",
    summary: "Abandons a run (it may be resumed later)",
    tag: "runs",
    auth: "bearer",
    params: runParams,
    idempotent: true,
    status: 200,
    response: res.runChangedSchema,
    errors: errors(AUTH, RUN_CHANGE, IDEMPOTENT),
  },
  startRun: {
    method: "post",
    path: "/api/universes/:id/runs",
    summary: "A new run of one of the caller's characters (after finishing one, or in a branch)",
    tag: "runs",
    auth: "bearer",
    params: universeParams,
    body: req.newRunBodySchema,
    idempotent: true,
    status: 201,
    response: res.runResponseSchema,
    errors: errors(AUTH, MEMBER, BODY, WRITE, IDEMPOTENT, {
      403: [C.NotYourCharacter],
      404: [C.UnknownCharacter],
      409: [C.UnknownCharacter, C.Conflict],
    }),
  },
} as const satisfies Record<string, ApiRoute>;

export type ApiRouteName = keyof typeof API;
/** What a route answers with its success status. */
export type ApiResponse<K extends ApiRouteName> = z.output<(typeof API)[K]["response"]>;
/** What a route's body accepts (defaults may be left out). */
export type ApiBody<K extends ApiRouteName> = (typeof API)[K] extends { body: infer B extends z.ZodType }
  ? z.input<B>
  : never;
/** The timeline scrubber's answer at one position (GET /api/universes/:id/scrub). */
export type ScrubView = ApiResponse<"scrub">;
