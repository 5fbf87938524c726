import express, { type Application } from "express";
import {
  API,
  characterLimitsOf,
  emptyState,
  overCharacterLimits,
  publicUniverse,
  RejectionCode,
  viewTurn,
  worldNames,
} from "@loom/shared";
import { services } from "../services.ts";
import {
  ApiError,
  caller,
  checkPath,
  errorHandler,
  intParam,
  JSON_BODY_TYPES,
  parseBody,
  refuseOtherBodies,
  route,
} from "./http.ts";
import { heavyReads } from "./limits.ts";
import {
  asGameMaster,
  callerIfAny,
  isGm,
  readableUniverse,
  requireMember,
  roleIn,
  universeOr404,
  viewerFor,
} from "./access.ts";
import { installMemberRoutes } from "./members.ts";
import { installIdempotency } from "./idempotency.ts";
import { installCharacterRoutes } from "./characters.ts";
import { installRunRoutes } from "./runs.ts";
import { installGmRoutes } from "./gm.ts";
import { installDiceRoutes } from "./dice.ts";
import { installExportRoutes } from "./export.ts";
import { installTimeTravelRoutes } from "./time-travel.ts";
import { installAccountRoutes } from "./accounts.ts";
import { liveReads, shownUniverse, shownUniverses } from "./live.ts";
import { baseHeaders, installWebClient, noStore } from "../web/serve.ts";
import { installDashboardRoutes } from "./dashboard.ts";
import { installScrubRoute } from "./scrub.ts";
import { openApiDocument } from "./openapi.ts";
import { health, readiness } from "./health.ts";
import { isOperator } from "./operator.ts";
import { countsOnly } from "../universe/persist-health.ts";
import { renderDocsPage } from "./docs-page.ts";
import { requestIds } from "./request-id.ts";

let docs: string | null = null;
/** The document as sent: built and serialized once, it is the same for every caller. */
let openApiText: string | null = null;
function docsPage(): string {
  docs ??= renderDocsPage(openApiDocument());
  return docs;
}

/** LOOM_TRUST_PROXY as Express reads it: a hop count, `true`, or addresses and subnets. */
function trustProxy(value: string): number | boolean | string {
  if (/^\d+$/.test(value)) return Number(value);
  return value === "true" ? true : value;
}

export function installRoutes(app: Application): void {
  const { config, limits } = services();
  if (config.trustProxy !== null) app.set("trust proxy", trustProxy(config.trustProxy));
  // Set before the first route: Express reads it once, when it makes its router. The steps that
  // read a request's path themselves (the heavy reads' gate, the write limits) compare it as
  // written; a route matched in another case (`/API/…`, `…/Timeline`) would be one they let by.
  app.set("case sensitive routing", true);
  app.disable("x-powered-by");
  app.use(baseHeaders);
  app.use(requestIds);
  app.use(express.json({ limit: "64kb", type: JSON_BODY_TYPES }));
  app.use("/api", noStore);
  app.use("/api", checkPath);
  app.use("/api", refuseOtherBodies);
  app.use("/api", limits.writes);
  app.use("/api", heavyReads(limits));
  installIdempotency(app);

  app.get(
    API.health.path,
    route((req) => health(isOperator(req))),
  );
  app.get(
    API.ready.path,
    route(async (req, res) => {
      const { status, body } = await readiness(isOperator(req));
      res.status(status);
      return body;
    }),
  );

  // Operators: Prometheus scrapes /metrics; the load generator reads /metrics.json (server/src/metrics.ts).
  app.get(
    API.metrics.path,
    route(async (_req, res) => {
      const { prometheus } = services().metrics;
      res.type(prometheus.contentType).send(await prometheus.text());
    }),
  );
  app.get(
    API.metricsJson.path,
    route(async (req) => {
      const reading = services().metrics.read();
      return isOperator(req) ? reading : { ...reading, persist: countsOnly(reading.persist) };
    }),
  );

  app.get(API.openApi.path, (_req, res) => {
    openApiText ??= JSON.stringify(openApiDocument());
    res.type("application/json").send(openApiText);
  });

  app.get(API.docs.path, (_req, res) => {
    res.type("text/html").send(docsPage());
  });

  installAccountRoutes(app);

  app.get(
    API.me.path,
    route(async (req) => {
      const me = await caller(req);
      const { turnStore, accountStore } = services();
      const account = await accountStore.byId(me.playerId);
      return {
        player: await turnStore.getPlayer(me.playerId),
        account: { login: account?.login ?? null, hasPassword: Boolean(account?.passwordHash) },
        runs: await turnStore.listRuns({ playerId: me.playerId }),
      };
    }),
  );

  app.post(
    API.createUniverse.path,
    route(async (req, res) => {
      const me = await caller(req);
      const body = parseBody(API.createUniverse.body, req.body);
      const { turnStore, newId, config } = services();
      let universe = await turnStore.createUniverse(
        { id: newId(), name: body.name, createdBy: me.playerId },
        emptyState(body.name, body.premise),
        { maxByCreator: config.maxUniversesPerPlayer },
      );
      if (body.visibility !== universe.visibility)
        universe = (await services().memberships.setVisibility(universe.id, body.visibility)) ?? universe;
      res.status(201);
      return { universe: publicUniverse(universe) };
    }),
  );

  app.get(
    API.listUniverses.path,
    route(async (req) => {
      const limit = req.query.limit === undefined ? 50 : intParam(req.query.limit, "limit", 1);
      const me = await callerIfAny(req);
      const { memberships } = services();
      const universes = await memberships.listVisibleUniverses(me?.playerId ?? null, Math.min(limit, 200));
      const [shown, records] = await Promise.all([
        shownUniverses(universes),
        me
          ? memberships.membershipsOf(
              me.playerId,
              universes.map((u) => u.id),
            )
          : [],
      ]);
      const membership = new Map(records.map((record) => [record.universeId, record]));
      return {
        universes: shown.map((universe, i) => ({
          ...universe,
          yourRole: me ? roleIn(universes[i]!, me.playerId, membership.get(universe.id) ?? null) : null,
        })),
      };
    }),
  );

  app.get(
    API.getUniverse.path,
    route(async (req) => ({
      universe: await shownUniverse(await readableUniverse(req, String(req.params.id))),
    })),
  );

  /** Makes sure the universe's room is up (on this or another process); clients then joinById. */
  app.post(
    API.openUniverse.path,
    route(async (req) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      await services().ownership.open(universe.id);
      return { roomId: universe.id };
    }),
  );

  app.post(
    API.createCharacter.path,
    route(async (req, res) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      const body = parseBody(API.createCharacter.body, req.body);
      const { therapeuticFocus, ...sheet } = body;
      const over = overCharacterLimits(sheet, characterLimitsOf(universe.settings));
      if (over.length > 0)
        throw new ApiError(
          422,
          RejectionCode.OverCharacterLimits,
          `Over this universe's limits for a new character (its game master sets them): ${over.join("; ")}.`,
        );
      const { memberships, newId, config } = services();
      const created = await memberships.createCharacterWithRun({
        character: { id: newId(), playerId: me.playerId, universeId: universe.id, name: sheet.name, sheet },
        run: { id: newId(), therapeuticFocus: therapeuticFocus ?? null },
        limit: config.maxCharactersPerUniverse,
      });
      if (!created.ok)
        throw new ApiError(created.reason === "member_removed" ? 403 : 409, created.reason, created.message);
      res.status(201);
      return { character: created.character, run: created.run };
    }),
  );

  app.get(
    API.timeline.path,
    route(async (req) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      const query = parseBody(API.timeline.query, req.query, "query");
      const viewer = await viewerFor(universe, me.playerId);
      if (viewer.role === "gm") return liveReads().timeline(universe.id, query);
      // a hidden turn is no match for a non-GM, in the query itself: the page and its cursor are
      // what is shown
      const page = await liveReads().timeline(universe.id, { ...query, searchPublic: true });
      return { ...page, turns: page.turns.map((turn) => viewTurn(turn, viewer)) };
    }),
  );

  app.get(
    API.turn.path,
    route(async (req) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      const turn = await liveReads().getTurn(universe.id, intParam(req.params.position, "position", 1));
      if (!turn)
        throw new ApiError(404, RejectionCode.NotFound, `no turn at position ${String(req.params.position)}`);
      return { turn: viewTurn(turn, await viewerFor(universe, me.playerId)) };
    }),
  );

  app.get(
    API.state.path,
    route(async (req) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      if (!isGm(universe, me.playerId))
        throw new ApiError(403, RejectionCode.NotAllowed, "the full state is for game masters");
      const reads = liveReads();
      const head = await reads.head(universe.id);
      const position = req.query.position === undefined ? head : intParam(req.query.position, "position", 0);
      if (position > head)
        throw new ApiError(404, RejectionCode.NotFound, `position ${position} is past the head ${head}`);
      return await reads.stateAt(universe.id, position);
    }),
  );

  app.get(
    API.worldNames.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const reads = liveReads();
      const head = await reads.head(universe.id);
      // no checksum: the picker shows names, it does not vouch for the state
      const { state } = await reads.stateWithoutChecksum(universe.id, head);
      return { position: head, ...worldNames(state) };
    }),
  );

  installRunRoutes(app);
  installCharacterRoutes(app);
  installGmRoutes(app);
  installDiceRoutes(app);
  installExportRoutes(app);
  installTimeTravelRoutes(app);
  installMemberRoutes(app);
  installDashboardRoutes(app);
  installScrubRoute(app);

  app.use((req, res, next) => {
    // `/API/…` in any other case reaches no route (routing is case-sensitive), and is no page of
    // the web client either: an unknown endpoint like any other
    if (!/^\/api(\/|$)/i.test(req.path)) {
      next();
      return;
    }
    const allowed = methodsAt(app, req.originalUrl.split("?")[0]!);
    if (allowed.length > 0) {
      res.setHeader("Allow", allowed.join(", "));
      res.status(405).json({
        error: {
          code: RejectionCode.MethodNotAllowed,
          message: `${req.method} is not an operation of this endpoint: ${allowed.join(", ")}`,
        },
      });
      return;
    }
    res.status(404).json({ error: { code: RejectionCode.NotFound, message: "no such endpoint" } });
  });
  installWebClient(app);
  app.use(errorHandler);
}

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** The methods the routes at `path` answer (RFC 9110's `Allow` of a 405), none when no route is there. */
function methodsAt(app: Application, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of (app.router as unknown as { stack: RouteLayer[] }).stack)
    if (layer.route && layer.match(path))
      for (const [method, on] of Object.entries(layer.route.methods))
        if (on && method !== "_all") methods.add(method.toUpperCase());
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}
