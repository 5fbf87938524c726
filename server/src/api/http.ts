import type { NextFunction, Request, Response } from "express";
import type { z } from "zod";
import {
  intParamSchema,
  isStorableText,
  jsonValueProblem,
  MESSAGE_BOUNDS,
  pathIdSchema,
  POSITION_MAX,
  RejectionCode,
  type RejectionCode as Code,
} from "@loom/shared";
import { services, ServicesUnavailableError } from "../services.ts";
import { log } from "../log.ts";
import { routeOf } from "./request-id.ts";
import { describeError, safeMessage } from "../describe-error.ts";
import { AuthError } from "../auth/tokens.ts";
import { DamagedSnapshotError, isStoreClosed, TooManyUniversesError } from "../persist/turn-store.ts";
import { errorClass, isDependencyFailure } from "../fault-log.ts";

/** An HTTP failure with a stable code: `{ error: { code, message } }` with the given status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * The path's ids reach the database as text, which cannot hold NUL or unpaired surrogates: a
 * path with them is refused before any route reads its parameters.
 */
export function checkPath(req: Request, _res: Response, next: NextFunction): void {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    next(new ApiError(400, RejectionCode.InvalidMessage, "the path is not valid percent-encoding"));
    return;
  }
  if (!isStorableText(path)) {
    next(new ApiError(400, RejectionCode.InvalidMessage, "the path holds a NUL or an unpaired surrogate"));
    return;
  }
  next();
}

/**
 * The media types read as JSON bodies: `application/json` with any parameters (a charset of the
 * UTF family; another is refused 415) and the structured `+json` types, so a client that names its
 * body `application/merge-patch+json` is read as it means.
 */
export const JSON_BODY_TYPES = ["application/json", "application/*+json"];

/**
 * A body the JSON parser did not read would reach the route as no body at all, and the route would
 * run on its defaults (undo the latest turn, an invite without limits): refused 415 instead,
 * before anything runs. A request without one (no Content-Length or a zero one, no
 * Transfer-Encoding) is not concerned, whatever its Content-Type.
 */
export function refuseOtherBodies(req: Request, _res: Response, next: NextFunction): void {
  const length = Number(req.headers["content-length"] ?? 0);
  const carriesBody = req.headers["transfer-encoding"] !== undefined || length > 0;
  if (carriesBody && !req.is(JSON_BODY_TYPES)) {
    const type = req.headers["content-type"];
    next(
      new ApiError(
        415,
        RejectionCode.UnsupportedMediaType,
        `the body must be JSON, sent as Content-Type: application/json (it came as ${type ? JSON.stringify(type.slice(0, 100)) : "no Content-Type"})`,
      ),
    );
    return;
  }
  next();
}

/** A body or query: the JSON-value rule over all of it (see json-value.ts), then its schema. */
export function parseBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  what: "body" | "query" = "body",
): z.infer<T> {
  checkJsonValue(body, what);
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(
      400,
      RejectionCode.InvalidMessage,
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/**
 * The JSON-value rule alone, for a route that words its schema's refusal itself: what a body or
 * query carries to the database is text it can store (no NUL, no unpaired surrogate), or the
 * query fails there and the caller gets a 500 for their own mistake.
 */
/** An id in the request's path (an invite code, a player id), refused by its name when malformed. */
export function pathId(req: Request, name: string): string {
  const parsed = pathIdSchema.safeParse(req.params[name]);
  if (!parsed.success)
    throw new ApiError(
      400,
      RejectionCode.InvalidMessage,
      `path parameter ${name}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  return parsed.data;
}

export function checkJsonValue(value: unknown, what: "body" | "query"): void {
  const problem = jsonValueProblem(value ?? {}, MESSAGE_BOUNDS);
  if (problem) throw new ApiError(400, RejectionCode.InvalidMessage, `${what}: ${problem}`);
}

export interface Caller {
  playerId: string;
  name: string;
}

/** One verification per request, however many steps (limits, then the route) ask who called. */
const verified = new WeakMap<Request, Promise<Caller>>();

export function caller(req: Request): Promise<Caller> {
  let identity = verified.get(req);
  if (!identity) {
    identity = verify(req);
    verified.set(req, identity);
  }
  return identity;
}

/** The caller when the request carries a valid token, else null (the route decides what that means). */
export function callerOrNull(req: Request): Promise<Caller | null> {
  return caller(req).catch(() => null);
}

async function verify(req: Request): Promise<Caller> {
  const header = req.headers.authorization ?? "";
  // the scheme's name is case-insensitive (RFC 9110, 11.1)
  const scheme = /^bearer +/i.exec(header);
  const token = scheme ? header.slice(scheme[0].length).trim() : "";
  if (!token) throw new ApiError(401, RejectionCode.Unauthorized, "missing Authorization: Bearer <token>");
  try {
    return await services().tokens.verify(token);
  } catch (error) {
    if (error instanceof AuthError) throw new ApiError(401, error.code, error.message);
    throw error;
  }
}

type Handler = (req: Request, res: Response) => Promise<unknown>;

/**
 * Wraps an async handler: its resolved value is sent as JSON, its errors become coded errors. The
 * `Server-Timing` header (`app;dur=` milliseconds) says how long the handler and the serialization
 * of its answer took: the server's share of a read, which a browser shows and benchmarks measure.
 */
export function route(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    // a body that cannot be sent (it does not serialize) fails like the handler itself
    handler(req, res)
      .then((body) => {
        if (res.headersSent) return;
        res.setHeader("Server-Timing", `app;dur=${(performance.now() - started).toFixed(2)}`);
        // through res.json: the Idempotency-Key layer keeps the answer there before it is sent
        res.status(res.statusCode || 200).json(body ?? {});
      })
      .catch((error: unknown) => next(error));
  };
}

/** Requests refused for a failing dependency, by error class: when the last warning was, how many since. */
const refused = new Map<string, { at: number; since: number }>();
const REFUSED_WARNING_MS = 10_000;

/** One warning per error class per 10 s while a dependency fails, not one per request. */
function warnRefused(request: string, error: unknown, now = Date.now()): void {
  const code = errorClass(error);
  const last = refused.get(code);
  if (last && now - last.at < REFUSED_WARNING_MS) {
    last.since += 1;
    return;
  }
  const more = last && last.since > 0 ? ` (${last.since} more refused since the last warning)` : "";
  refused.set(code, { at: now, since: 0 });
  log.warn(`${request} refused unavailable: a dependency fails [${code}]: ${safeMessage(error)}${more}`, {
    code,
  });
}

/** 503 `unavailable`, with when to try again. */
function unavailable(res: Response, message: string, retryAfterSeconds: number): void {
  res.setHeader("Retry-After", String(retryAfterSeconds));
  res.status(503).json({ error: { code: RejectionCode.Unavailable, message } });
}

/** A request as logs name it: its method and route pattern, never a path holding an invite code. */
function named(req: Request): string {
  return `${req.method} ${routeOf(req) ?? "(no route)"}`;
}

export function errorHandler(error: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    log.error(`${named(req)} failed after its answer began: ${describeError(error)}`);
    next(error);
    return;
  }
  if (error instanceof ApiError) {
    const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
    res.status(error.status).json({ error: { code: error.code, message: error.message } });
    return;
  }
  if (error instanceof DamagedSnapshotError) {
    res.status(503).json({ error: { code: RejectionCode.DamagedSnapshot, message: error.message } });
    return;
  }
  if (error instanceof Error && error.name === "OutcomeUnknownError") {
    res.setHeader("Retry-After", "1");
    res.status(503).json({ error: { code: RejectionCode.OutcomeUnknown, message: error.message } });
    return;
  }
  if (error instanceof TooManyUniversesError) {
    res.status(409).json({ error: { code: RejectionCode.TooManyUniverses, message: error.message } });
    return;
  }
  const status =
    (error as { status?: number; statusCode?: number }).status ??
    (error as { statusCode?: number }).statusCode;
  if (error instanceof ServicesUnavailableError || isStoreClosed(error)) {
    // a request that came in as the process stops (or a test restarts it in the same process)
    unavailable(res, "the server is stopping or starting; retry", 1);
    return;
  }
  if (
    error instanceof Error &&
    (error.name === "UniverseUnavailableError" ||
      error.name === "LiveStoreLostError" ||
      error.name === "LiveTailGapError")
  ) {
    // the universe cannot be opened now: its owner is moving (a second), or its live store lost
    // data and its last owner or an operator must act (see README, "When Redis loses its data")
    unavailable(res, error.message, error.name === "UniverseUnavailableError" ? 1 : 30);
    return;
  }
  if (status === 413) {
    res
      .status(413)
      .json({ error: { code: RejectionCode.PayloadTooLarge, message: "request body too large" } });
    return;
  }
  if (status === 415) {
    // the JSON parser's own refusals: a charset outside UTF, a Content-Encoding it cannot undo
    const message = (error as { expose?: boolean }).expose ? safeMessage(error) : "unsupported body";
    res.status(415).json({ error: { code: RejectionCode.UnsupportedMediaType, message } });
    return;
  }
  if (status === 400 && (error as { type?: string }).type === "entity.parse.failed") {
    res
      .status(400)
      .json({ error: { code: RejectionCode.InvalidMessage, message: "body must be a JSON object" } });
    return;
  }
  if (typeof status === "number" && status >= 400 && status < 500) {
    // the request itself is wrong (a malformed percent-encoding, a body that is not JSON...)
    res.status(status).json({ error: { code: RejectionCode.InvalidMessage, message: "malformed request" } });
    return;
  }
  if (isDependencyFailure(error)) {
    // the database or the live store is down or restarting: not this request's fault, nor a bug
    warnRefused(named(req), error);
    unavailable(res, `a dependency is unavailable (${errorClass(error)}); retry`, 1);
    return;
  }
  log.error(`${named(req)} failed: ${describeError(error)}`);
  res.status(500).json({ error: { code: RejectionCode.Unavailable, message: "internal error" } });
}

export { POSITION_MAX };

/** An integer path or query parameter (see intParamSchema); its message names the parameter. */
export function intParam(value: unknown, name: string, min = 0, max = POSITION_MAX): number {
  const parsed = intParamSchema(name, min, max).safeParse(value);
  if (!parsed.success)
    throw new ApiError(400, RejectionCode.InvalidMessage, parsed.error.issues[0]?.message ?? name);
  return parsed.data;
}
