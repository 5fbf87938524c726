import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { log, withLogContext } from "../log.ts";

/** A caller's own request id is kept when it is a plain token; anything else gets a fresh one. */
const GIVEN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The route pattern a request matched (`/api/invites/:code/accept`), or null: what logs name a
 * request by, never its raw path, which may hold an invite code.
 */
export function routeOf(req: Request): string | null {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  return typeof route === "string" ? route : null;
}

/**
 * Gives every HTTP request an id: the caller's `X-Request-Id` when it is a plain token, else a new
 * UUID. It is sent back in `X-Request-Id`, and every log line written while the request is served
 * carries it as `requestId`. One debug line per request: the route pattern (never the raw path,
 * which may hold an invite code), status and duration.
 */
export function requestIds(req: Request, res: Response, next: NextFunction): void {
  const given = req.get("x-request-id");
  const requestId = given && GIVEN_ID.test(given) ? given : randomUUID();
  res.setHeader("X-Request-Id", requestId);
  const started = performance.now();
  res.once("finish", () => {
    log.debug("request", {
      requestId,
      method: req.method,
      route: routeOf(req),
      status: res.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  withLogContext({ requestId }, next);
}
