import type { NextFunction, Request, Response } from "express";
import { API, RejectionCode, type ApiRoute } from "@loom/shared";
import type { HttpLimits, RateLimit } from "../config.ts";
import { KeyedBuckets } from "./buckets.ts";
import { clientIp } from "./client-ip.ts";
import { ApiError, callerOrNull } from "./http.ts";
import { Slots } from "./slots.ts";

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

/**
 * 503 `unavailable`: the process already does as much of that work at once as it takes; the error
 * handler adds `Retry-After`.
 */
export class BusyError extends ApiError {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(503, RejectionCode.Unavailable, message);
    this.name = "BusyError";
  }
}

/** An export of a large universe takes seconds: one asked again sooner would likely find every slot taken. */
const EXPORT_BUSY_RETRY_SECONDS = 5;

/** One export's hold on a slot of the process (RequestLimits.startExport). */
export interface ExportSlot {
  /**
   * Gives the slot up while the export waits on `waiting` (its reader, which costs the process
   * nothing meanwhile), then takes one again, waiting its turn ahead of new exports.
   */
  aside<T>(waiting: Promise<T>): Promise<T>;
  /** Gives the slot back for good, however the export ended. */
  end(): void;
}

/** How many times LOOM_LIMIT_LOGIN_ACCOUNT one login name takes from all addresses together. */
const FROM_ANY_ADDRESS = 10;

/**
 * Reads that make the process rebuild or search a universe's history (a state at a position, a
 * search, a diff, a recap): each may take tens of milliseconds of the rooms' thread. One player has
 * at most HEAVY_READS_AT_ONCE of them made at once; more wait their turn, up to
 * HEAVY_READS_WAITING, and past that are refused. A page asks a few at once; a client asking
 * dozens in a loop no longer slows everyone's turns.
 */
const HEAVY_READ = new RegExp(
  `^(${Object.values(API as Record<string, ApiRoute>)
    .filter((route) => route.heavy)
    .map((route) => route.path.replace(/:[A-Za-z]+/g, "[^/]+"))
    .join("|")})$`,
);
const HEAVY_READS_AT_ONCE = 2;
const HEAVY_READS_WAITING = 32;

/** One player's heavy reads: those being made (the slots) and those waiting, together `held`. */
interface ReadLine {
  slots: Slots;
  held: number;
}

/** Paths with buckets of their own, not counted as ordinary writes. */
const OWN_LIMITS = new Set(["/api/players", "/api/auth/login"]);
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The HTTP limits of one process: registrations per IP, logins per IP and per login name, every
 * other write per IP and per player, and exports per player and at once. Each process counts for
 * itself.
 */
export class RequestLimits {
  private readonly registerPerIp: KeyedBuckets | null;
  private readonly loginPerIp: KeyedBuckets | null;
  private readonly loginPerAccount: KeyedBuckets | null;
  private readonly loginPerAccountAnywhere: KeyedBuckets | null;
  private readonly writePerIp: KeyedBuckets | null;
  private readonly writePerPlayer: KeyedBuckets | null;
  private readonly exportPerPlayer: KeyedBuckets | null;
  private readonly exportSlots: Slots;
  /** Each player's heavy reads under way or waiting, while they have some. */
  readonly readLines = new Map<string, ReadLine>();

  constructor(limits: HttpLimits, now: () => number) {
    const buckets = (limit: RateLimit | null) => (limit ? new KeyedBuckets(limit, now) : null);
    this.registerPerIp = buckets(limits.registerPerIp);
    this.loginPerIp = buckets(limits.loginPerIp);
    this.loginPerAccount = buckets(limits.loginPerAccount);
    const anywhere = limits.loginPerAccount;
    this.loginPerAccountAnywhere = buckets(
      anywhere && { burst: anywhere.burst * FROM_ANY_ADDRESS, perSeconds: anywhere.perSeconds },
    );
    this.writePerIp = buckets(limits.writePerIp);
    this.writePerPlayer = buckets(limits.writePerPlayer);
    this.exportPerPlayer = buckets(limits.exportPerPlayer);
    this.exportSlots = new Slots(limits.exportsAtOnce);
  }

  register(req: Request): void {
    check(this.registerPerIp, clientIp(req), "registrations from this address");
  }

  /**
   * A login, or a password change giving the current one: counted before the password is checked,
   * so a right guess past the limit is refused too. Per login name from one address
   * (LOOM_LIMIT_LOGIN_ACCOUNT): a guesser at one address does not lock the account's owner out at
   * another, as one bucket per name let anyone do with a request a minute. Per name from any
   * address, ten times that: a guesser with many addresses.
   */
  login(req: Request, login: string): void {
    const ip = clientIp(req);
    check(this.loginPerIp, ip, "logins from this address");
    check(this.loginPerAccount, `${login}\n${ip}`, "logins to this account from this address");
    check(this.loginPerAccountAnywhere, login, "logins to this account");
  }

  /**
   * Takes one of the process's export slots and a token of the player's. A busy process refuses
   * before the player's token is spent: the refusal is not theirs.
   */
  startExport(playerId: string): ExportSlot {
    const slots = this.exportSlots;
    if (!slots.tryTake())
      throw new BusyError(
        EXPORT_BUSY_RETRY_SECONDS,
        `this server is already making ${slots.size} exports, as many as it makes at once; retry in ${EXPORT_BUSY_RETRY_SECONDS} s`,
      );
    try {
      check(this.exportPerPlayer, playerId, "exports from this player");
    } catch (error) {
      slots.give();
      throw error;
    }
    let holding = true;
    let ended = false;
    return {
      async aside(waiting) {
        slots.give();
        holding = false;
        try {
          return await waiting;
        } finally {
          await slots.take();
          if (ended) slots.give();
          else holding = true;
        }
      },
      end() {
        if (ended) return;
        ended = true;
        if (holding) slots.give();
        holding = false;
      },
    };
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

/** Express middleware for the heavy reads (`heavy` routes): one player's are made a few at a time. */
export function heavyReads(limits: RequestLimits) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      next();
      return;
    }
    const path = (req.originalUrl.split("?")[0] ?? "").replace(/\/+$/, "");
    if (!HEAVY_READ.test(path)) {
      next();
      return;
    }
    let gone = false;
    res.once("close", () => (gone = true));
    void (async () => {
      // without a player the route refuses the request itself
      const me = await callerOrNull(req).catch(() => null);
      if (!me) return true;
      const lines = limits.readLines;
      let line = lines.get(me.playerId);
      if (!line) {
        line = { slots: new Slots(HEAVY_READS_AT_ONCE), held: 0 };
        lines.set(me.playerId, line);
      }
      if (line.held >= HEAVY_READS_AT_ONCE + HEAVY_READS_WAITING)
        throw new RateLimitedError(1, "reads from this player at once");
      line.held += 1;
      await line.slots.take();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        line.slots.give();
        line.held -= 1;
        if (line.held === 0) lines.delete(me.playerId);
      };
      // a client that left while its read waited is not read for
      if (gone) {
        release();
        return false;
      }
      // the slot is the read's until its answer is written, whether or not the client still waits
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        release();
        return end(...args);
      }) as Response["end"];
      return true;
    })().then((go) => {
      if (go) next();
    }, next);
  };
}

function check(buckets: KeyedBuckets | null, key: string, what: string): void {
  if (!buckets) return;
  const wait = buckets.take(key);
  if (wait > 0) throw new RateLimitedError(wait, what);
}
