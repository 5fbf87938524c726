import { matchMaker } from "@colyseus/core";
import type { LiveStore, Lease } from "../live/live-store.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import type { LeaseLedger, LeaseRecord } from "../persist/lease-ledger.ts";
import { closeInterruptedSessions } from "./continuity.ts";
import { log, outsideLogContext } from "../log.ts";
import { UniverseAuthority, type AuthorityOptions } from "./authority.ts";
import type { PersistHealth } from "./persist-health.ts";
import type { PendingBudget } from "./pending-budget.ts";

export const UNIVERSE_ROOM = "universe";

export class UniverseUnavailableError extends Error {
  constructor(
    readonly universeId: string,
    reason: string,
  ) {
    super(`universe ${universeId} is unavailable: ${reason}`);
    this.name = "UniverseUnavailableError";
  }
}

/** The live store lost the universe's stream while the database may be behind it (see `create`). */
export class LiveStoreLostError extends UniverseUnavailableError {
  constructor(universeId: string, leaseToken: number) {
    super(
      universeId,
      `its live stream is gone (the live store lost its data) while its last owner (lease ${leaseToken}) ` +
        "may hold acknowledged turns the database does not have yet; it opens once they are back",
    );
    this.name = "LiveStoreLostError";
  }
}

export interface OwnershipOptions {
  processId: string;
  turnStore: TurnStore;
  /** Where persisters append (a GroupCommit over the TurnStore); the TurnStore itself if unset. */
  writer?: Pick<TurnStore, "appendTurns">;
  liveStore: LiveStore;
  leaseTtlMs: number;
  /** See AuthorityOptions.maxPendingTurns. */
  maxPendingTurns?: number;
  /** See AuthorityOptions.pendingBudget: one for every universe this process opens. */
  pendingBudget?: PendingBudget;
  durableOnLiveAppend: boolean;
  newId: () => string;
  health?: PersistHealth;
  /** The fencing tokens' high-water mark in the database (lease-ledger.ts). */
  leases?: LeaseLedger | null;
}

/**
 * The one locked path by which universe rooms come to exist. Colyseus alone does not guarantee
 * one room per id across processes, so: take the universe's lease in the live store (a Redis
 * lock with a fencing token), hydrate, and only then create the room locally with the universe
 * id as its room id. Whoever loses the race waits for the winner's room to be listed.
 * Concurrent opens inside this process share one in-flight open.
 */
export class Ownership {
  private readonly opening = new Map<string, Promise<void>>();
  /** Authorities hydrated for a room that is being created; the room takes its one in onCreate. */
  private readonly handoff = new Map<string, UniverseAuthority>();
  /** Rooms of this process that are open, each with a promise settled once it has closed. */
  private readonly open_ = new Map<
    string,
    { closed: Promise<void>; resolve: () => void; closing: boolean; hurry?: () => void }
  >();

  constructor(private readonly options: OwnershipOptions) {}

  take(universeId: string): UniverseAuthority {
    const authority = this.handoff.get(universeId);
    if (!authority) throw new Error(`universe ${universeId} must be opened through Ownership.open`);
    this.handoff.delete(universeId);
    let resolve!: () => void;
    const closed = new Promise<void>((r) => (resolve = r));
    this.open_.set(universeId, { closed, resolve, closing: false });
    return authority;
  }

  /**
   * The room of `universeId` is disposing: it still flushes and holds the lease, so a new room
   * for the universe must wait for it (or two authorities would write one timeline). `hurry` is
   * called when an open waits on it: what the closing room may leave for the next one, it leaves.
   */
  closing(universeId: string, hurry?: () => void): void {
    const entry = this.open_.get(universeId);
    if (!entry) return;
    entry.closing = true;
    entry.hurry = hurry;
  }

  /** The universes whose rooms this process has open, closing ones included. */
  openUniverses(): string[] {
    return [...this.open_.keys()];
  }

  /** The room of `universeId` has flushed and released its lease. */
  closed(universeId: string): void {
    this.open_.get(universeId)?.resolve();
    this.open_.delete(universeId);
  }

  private stopped_ = false;
  private opening_ = true;

  /**
   * The process begins to stop: no universe is opened here any more. A client that lost its seat
   * as the rooms closed asks to open the universe again at once; opened here, its room would be
   * made while Colyseus and the stores close under it. Refused, the client tries another process.
   */
  stopOpening(): void {
    this.opening_ = false;
  }

  /** False once the process began to stop (stopOpening): its rooms are closing. */
  get opensRooms(): boolean {
    return this.opening_;
  }

  /** The process is stopping: its stores close next, so closing rooms stop trying to hand over. */
  get stopped(): boolean {
    return this.stopped_;
  }

  /**
   * Settles once every room this process has open has closed, or after `timeoutMs`; from then on
   * the process counts as stopped (used at shutdown).
   */
  async allClosed(timeoutMs = 15_000): Promise<void> {
    const waits = [...this.open_.values()].map((entry) => entry.closed);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopped_ = true;
  }

  open(universeId: string): Promise<void> {
    if (!this.opening_)
      return Promise.reject(new UniverseUnavailableError(universeId, "this server is stopping"));
    let inFlight = this.opening.get(universeId);
    if (!inFlight) {
      inFlight = this.openOnce(universeId).finally(() => this.opening.delete(universeId));
      this.opening.set(universeId, inFlight);
    }
    return inFlight;
  }

  private async openOnce(universeId: string): Promise<void> {
    const startedAt = Date.now();
    const deadline = startedAt + this.options.leaseTtlMs + 5_000;
    /** When this open first found the lease held by another process that serves no room. */
    let waitingSince: number | null = null;
    for (;;) {
      const local = this.open_.get(universeId);
      if (local?.closing) {
        local.hurry?.();
        await local.closed;
        continue;
      }
      if (matchMaker.getLocalRoomById(universeId)) return;
      const holder = await this.options.liveStore.owner(universeId);
      if (holder && holder.owner !== this.options.processId) {
        if (await this.listed(universeId)) return;
        waitingSince ??= Date.now();
      } else {
        if (!this.opening_) throw new UniverseUnavailableError(universeId, "this server is stopping");
        const ledger = (await this.options.leases?.read(universeId)) ?? { leaseToken: 0, settledToken: 0 };
        const lease = await this.options.liveStore.acquire(
          universeId,
          this.options.processId,
          this.options.leaseTtlMs,
          ledger.leaseToken,
        );
        const leaseAt = Date.now();
        if (lease && (await this.create(universeId, lease, ledger, { startedAt, waitingSince, leaseAt })))
          return;
      }
      if (Date.now() > deadline)
        throw new UniverseUnavailableError(universeId, "its owner did not come up in time");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Whether a live process lists a room for the universe. A listing left by a process that died
   * (kill -9, a lost machine) would send every join to an address that no longer answers, and
   * Colyseus finds that out only after two timeouts of its own (the seat reservation, then a
   * health check) per join. A Colyseus process subscribes to its own channel for as long as its
   * Redis connection lives, and Redis drops the subscription the moment that connection closes,
   * so a listing whose process has no subscriber is removed here, with the process's other
   * listings. The lease still decides who may open the universe: this only stops joins going
   * to the dead process while its lease runs out.
   */
  async listed(universeId: string): Promise<boolean> {
    const rooms = await matchMaker.query({ roomId: universeId });
    const room = rooms[0];
    if (!room) return false;
    if (room.processId === matchMaker.processId) return true;
    const subscribed = await matchMaker.presence.channels(`p:${room.processId}`);
    if (subscribed.length > 0) return true;
    log.info(
      `the room listing of universe ${universeId} belongs to process ${room.processId}, which is gone`,
      {
        universeId,
      },
    );
    if (matchMaker.driver.cleanup) await matchMaker.driver.cleanup(room.processId);
    else await matchMaker.driver.remove(universeId);
    return false;
  }

  /** Sessions a previous owner left open end before anyone joins (continuity.ts). */
  private async closeInterrupted(authority: UniverseAuthority): Promise<void> {
    try {
      const closed = await closeInterruptedSessions(this.options.turnStore, authority);
      if (closed > 0)
        log.info(`universe ${authority.universe.id}: closed ${closed} interrupted play session(s)`, {
          universeId: authority.universe.id,
        });
    } catch (error) {
      // the universe still opens; the sessions close the next time it does
      log.warn(`universe ${authority.universe.id}: interrupted play sessions could not be closed`, {
        err: error,
        universeId: authority.universe.id,
      });
    }
  }

  /**
   * Opens the universe under `lease`; false when a newer lease turned out to be registered
   * meanwhile (the caller tries again). A live stream that is gone while the ledger says the last
   * owner may have acknowledged turns the database lacks means the live store lost its data: the
   * universe is refused rather than opened from a database that may be behind, which would hand
   * out the lost turns' positions again. It opens once that owner, if it still runs, has written
   * them back or persisted them (or an operator settles the lease: README, "When Redis loses its
   * data").
   */
  private async create(
    universeId: string,
    lease: Lease,
    ledger: LeaseRecord,
    timing: { startedAt: number; waitingSince: number | null; leaseAt: number },
  ): Promise<boolean> {
    const { liveStore, leases } = this.options;
    /** Milliseconds per step of the open, for its log line. */
    const steps: Record<string, number> = {};
    let stepStart = Date.now();
    const step = (name: string) => {
      const now = Date.now();
      steps[name] = now - stepStart;
      stepStart = now;
    };
    const universe = await this.options.turnStore.getUniverse(universeId);
    if (!universe) {
      await liveStore.release(lease);
      throw new UniverseUnavailableError(universeId, "no such universe");
    }
    let authority: UniverseAuthority | undefined;
    try {
      if (leases) {
        if (ledger.settledToken < ledger.leaseToken && !(await liveStore.streamExists(universeId)))
          throw new LiveStoreLostError(universeId, ledger.leaseToken);
        if (!(await leases.register(universeId, lease.token))) {
          await liveStore.release(lease);
          return false;
        }
      }
      // A listing left by a process that died while owning the universe would misroute joins.
      const stale = await matchMaker.query({ roomId: universeId });
      if (stale.length > 0) await matchMaker.driver.remove(universeId);
      step("registerMs");
      const options: AuthorityOptions = {
        universe,
        turnStore: this.options.turnStore,
        writer: this.options.writer,
        liveStore: this.options.liveStore,
        lease,
        durableOnLiveAppend: this.options.durableOnLiveAppend,
        newId: this.options.newId,
        health: this.options.health,
        leases,
        leaseTtlMs: this.options.leaseTtlMs,
        maxPendingTurns: this.options.maxPendingTurns,
        pendingBudget: this.options.pendingBudget,
      };
      authority = await outsideLogContext(() => UniverseAuthority.hydrate(options));
      // from now on a missing stream means the live store lost it
      await liveStore.ensureStream(lease, authority.persistedThrough);
      step("hydrateMs");
      await this.closeInterrupted(authority);
      step("interruptedSessionsMs");
      this.handoff.set(universeId, authority);
      await outsideLogContext(() =>
        matchMaker.handleCreateRoom(UNIVERSE_ROOM, { universeId }, undefined, universeId),
      );
      step("roomMs");
      // where an open's time went, the wait for a previous owner's lease to lapse first: after a
      // process dies, that is what its universes' players wait for
      log.info(`opened universe ${universeId} (lease ${lease.token})`, {
        universeId,
        openMs: Date.now() - timing.startedAt,
        leaseWaitMs: timing.waitingSince === null ? 0 : timing.leaseAt - timing.waitingSince,
        ...steps,
      });
      return true;
    } catch (error) {
      this.handoff.delete(universeId);
      // its waiting turns (the tail it read) no longer count toward this process's bound
      authority?.retire();
      await liveStore.release(lease).catch(() => undefined);
      throw error;
    }
  }
}
