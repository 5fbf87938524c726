import { createHash } from "node:crypto";
import type { Application, NextFunction, Request, Response } from "express";
import { API, canonicalJson, RejectionCode, type ApiRoute } from "@loom/shared";
import { services } from "../services.ts";
import { ApiError, caller, checkJsonValue } from "./http.ts";
import { log } from "../log.ts";
import { REQUEST_CLIENT_PREFIX } from "../universe/seq-ledger.ts";

/** The writes a retry could apply twice: those the HTTP contract marks `idempotent`. */
export const IDEMPOTENT_WRITES: string[] = Object.values(API as Record<string, ApiRoute>)
  .filter((route) => route.idempotent === true && route.method === "post")
  .map((route) => route.path);

const KEY = /^[\x21-\x7e]{1,200}$/;
/** A first request still unanswered after this long was cut short (its process died). */
const ABANDONED_AFTER_MS = 60_000;

/**
 * `Idempotency-Key` on HTTP writes: the first request with a key runs and its answer is kept
 * (durably, per player, for LOOM_IDEMPOTENCY_TTL_SECONDS) before it is sent; the same key with
 * the same request gets that answer again without running anything, through any process; the
 * same key with a different request is refused. Failures a retry could cure (5xx) are not kept.
 * Without the header a write simply runs.
 */
export function installIdempotency(app: Application): void {
  app.post(IDEMPOTENT_WRITES, (req, res, next) => {
    if (req.headers["idempotency-key"] === undefined) return next();
    idempotently(req, res, next).catch(next);
  });
}

async function idempotently(req: Request, res: Response, next: NextFunction): Promise<void> {
  const header = req.headers["idempotency-key"];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined || !KEY.test(key))
    throw new ApiError(
      400,
      RejectionCode.InvalidMessage,
      "Idempotency-Key must be 1 to 200 visible ASCII characters",
    );
  const me = await caller(req);
  // the body is hashed as a document: one past the bounds every route holds it to is refused
  // first, as the route would refuse it (walking a body nested thousands deep would take seconds)
  checkJsonValue(req.body, "body");
  const { idempotency, config } = services();
  const claim = await idempotency.claimKey({
    playerId: me.playerId,
    key,
    requestHash: requestHash(req),
    ttlMs: config.idempotencyTtlSeconds * 1000,
    staleAfterMs: ABANDONED_AFTER_MS,
  });
  if (claim.state === "mismatch")
    throw new ApiError(
      422,
      RejectionCode.IdempotencyKeyReused,
      "this Idempotency-Key was used for a different request",
    );
  if (claim.state === "running")
    throw new ApiError(
      409,
      RejectionCode.RequestInProgress,
      "the first request with this Idempotency-Key is still running; retry shortly",
    );
  if (claim.state === "done") {
    res.status(claim.status).setHeader("Idempotent-Replayed", "true");
    res.json(claim.response);
    return;
  }
  // The answer, success or coded error, is stored before it leaves: a retry that follows it
  // finds it. A 5xx frees the key instead, so the retry runs.
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    const status = res.statusCode;
    const keep =
      status < 500
        ? idempotency.completeKey(me.playerId, key, status, body ?? null)
        : idempotency.releaseKey(me.playerId, key);
    keep.then(
      () => send(body),
      (error: unknown) => {
        log.warn(`keeping the answer to Idempotency-Key ${key} failed`, { err: error });
        send(body);
      },
    );
    return res;
  };
  next();
}

/**
 * What a request asks (method, path, body): a key met again with another is refused. The body as
 * a document, its members in any order: a client that writes them in another order on its retry
 * asks the same.
 */
function requestHash(req: Request): string {
  return createHash("sha256")
    .update(`${req.method} ${req.path}\n${canonicalJson(req.body ?? null)}`)
    .digest("hex");
}

/**
 * A write with an Idempotency-Key as a client of the universe's timeline: the key (with its player)
 * names a client that sends one message. Should the kept answer be lost (the process died before
 * storing it, or the first request ran so long that its claim was taken over), the retry reaches
 * the universe as the same client message, which it answers with the turn already made instead of
 * making another (an undo without a position would otherwise undo the turn before).
 *
 * The request is part of the client: the universe remembers its clients longer than the key is
 * kept (thousands of them, and again from its recent turns when it opens), so a key used again
 * once it expired, for another request, would otherwise be answered with the first one's turn and
 * the new write dropped.
 */
export function requestClient(req: Request, playerId: string): { key: string; seq: number } | undefined {
  const header = req.headers["idempotency-key"];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return undefined;
  const digest = createHash("sha256")
    .update(`${playerId}\n${key}\n${requestHash(req)}`)
    .digest("hex")
    .slice(0, 32);
  return { key: `${REQUEST_CLIENT_PREFIX}${digest}`, seq: 1 };
}
