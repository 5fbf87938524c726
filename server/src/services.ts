import { randomUUID } from "node:crypto";
import type { LoomConfig } from "./config.ts";
import type { LiveStore } from "./live/live-store.ts";
import type { TurnStore } from "./persist/turn-store.ts";
import type { MembershipStore } from "./persist/membership-store.ts";
import type { IdempotencyStore } from "./persist/idempotency-store.ts";
import type { SavePointStore } from "./persist/save-points.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { GenerationCache } from "./auth/generations.ts";
import type { AccountStore } from "./auth/account-store.ts";
import type { Sessions } from "./auth/sessions.ts";
import type { RequestLimits } from "./api/limits.ts";
import type { KeyedBuckets } from "./api/buckets.ts";
import type { Ownership } from "./universe/ownership.ts";
import type { PersistTick } from "./universe/persist-tick.ts";
import type { Metrics } from "./metrics.ts";
import type { Narrator } from "./narrator/narrator.ts";
import type { NarrationRecorder } from "./narrator/narration-recorder.ts";

/**
 * What the rooms and the HTTP API share inside one process. Colyseus instantiates rooms by
 * class, so the room reaches these through `services()` rather than through its constructor.
 */
export interface Services {
  config: LoomConfig;
  turnStore: TurnStore;
  memberships: MembershipStore;
  idempotency: IdempotencyStore;
  savePoints: SavePointStore;
  liveStore: LiveStore;
  tokens: TokenService;
  /** Players' token generations as `tokens` checks them; a room compares a seat's against them. */
  generations: GenerationCache;
  accountStore: AccountStore;
  sessions: Sessions;
  /** HTTP limits (registrations, logins, writes, exports). */
  limits: RequestLimits;
  /**
   * Room joins per universe and player (`LOOM_LIMIT_JOIN_PLAYER`), null: no limit. Kept here, not
   * in the room: a room closes when its last member leaves, so a player alone in a universe who
   * joins and leaves in a loop would find a fresh count at each join.
   */
  joins: KeyedBuckets | null;
  /** Milliseconds clock for tokens and limits (config.clock). */
  clock: () => number;
  ownership: Ownership;
  /** The shared persist tick rooms flush on. */
  persistTick: PersistTick;
  /** Pipeline and group-commit timings (GET /metrics). */
  metrics: Metrics;
  /** Tells each turn in prose after it is broadcast; null when narration is off. */
  narrator: Narrator | null;
  /** Where rooms record what the narrator told, in groups across universes. */
  narrationRecords: NarrationRecorder;
  /** This process's id in the matchmaker, used as the lease owner. */
  processId: string;
  newId: () => string;
}

let current: Services | null = null;

export function setServices(services: Services | null): void {
  current = services;
}

/** Asked for between a server's stop and its next start (or before the first): nothing to serve with. */
export class ServicesUnavailableError extends Error {
  constructor() {
    super("Loom services are not initialised: start the server with createLoomServer()");
    this.name = "ServicesUnavailableError";
  }
}

export function services(): Services {
  if (!current) throw new ServicesUnavailableError();
  return current;
}

export function newId(): string {
  return randomUUID();
}
