import type { NextFunction, Request, Response } from "express";
import { RejectionCode } from "@loom/shared";
import type { HttpLimits, RateLimit } from "../config.ts";
import { KeyedBuckets } from "./buckets.ts";
import { clientIp } from "./client-ip.ts";
import { ApiError, callerOrNull } from "./http.ts";

/** 429 `rate_limited`; the error handler adds `Retry-After`. */
export class RateLimitedError extends ApiError {
  constructor(
    readonly retryAfterSeconds: number,
    what: string,
  ) {
    super(429, RejectionCode.RateLimited, `too many ${what}: retry in ${retryAfterSeconds} s`);
    this.name = "RateLimitedError";
  }
}

/** Paths with buckets of their own, not counted as ordinary writes. */
const OWN_LIMITS = new Set(["/api/players", "/api/auth/login"]);
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The HTTP limits of one process: registrations per IP, logins per IP and per login name, and
 * every other write per IP and per player. Each process counts for itself.
 */
export class RequestLimits {
  private readonly registerPerIp: KeyedBuckets | null;
  private readonly loginPerIp: KeyedBuckets | null;
  private readonly loginPerAccount: KeyedBuckets | null;
  private readonly writePerIp: KeyedBuckets | null;
  private readonly writePerPlayer: KeyedBuckets | null;

  constructor(limits: HttpLimits, now: () => number) {
    const buckets = (limit: RateLimit | null) => (limit ? new KeyedBuckets(limit, now) : null);
    this.registerPerIp = buckets(limits.registerPerIp);
    this.loginPerIp = buckets(limits.loginPerIp);
    this.loginPerAccount = buckets(limits.loginPerAccount);
    this.writePerIp = buckets(limits.writePerIp);
    this.writePerPlayer = buckets(limits.writePerPlayer);
  }

  register(req: Request): void {
    check(this.registerPerIp, clientIp(req), "registrations from this address");
  }

  /** Counted before the password is checked, so a right guess past the limit is refused too. */
  login(req: Request, login: string): void {
    check(this.loginPerIp, clientIp(req), "logins from this address");
    check(this.loginPerAccount, login, "logins to this account");
  }

  /** Express middleware for every other write under /api. */
  readonly writes = (req: Request, _res: Response, next: NextFunction): void => {
    const path = (req.originalUrl.split("?")[0] ?? "").replace(/\/+$/, "");
    if (!WRITES.has(req.method) || OWN_LIMITS.has(path)) {
      next();
      return;
    }
    void (async () => {
      check(this.writePerIp, clientIp(req), "requests from this address");
      if (this.writePerPlayer) {
        const me = await callerOrNull(req);
        if (me) check(this.writePerPlayer, me.playerId, "requests from this player");
      }
    })().then(() => next(), next);
  };
}

function check(buckets: KeyedBuckets | null, key: string, what: string): void {
  if (!buckets) return;
  const wait = buckets.take(key);
  if (wait > 0) throw new RateLimitedError(wait, what);
}
