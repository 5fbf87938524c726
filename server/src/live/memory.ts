import type { Turn, UniverseState } from "@loom/shared";
import { FencedError, TurnOrderError, type Lease, type LiveStore, type StreamView } from "./live-store.ts";
import { checkBatch, checkPosition, checkTtl } from "./checks.ts";

interface Lock {
  owner: string;
  token: number;
  expiresAt: number;
}

export interface Universe {
  /** Last fencing token handed out; like Redis' INCR counter it survives release and expiry. */
  fence: number;
  lock: Lock | null;
  /** Turns as JSON, ascending: stored as text so callers never share objects with the store. */
  wal: Array<{ position: number; json: string }>;
  /** Highest position ever appended, trimmed or not (Redis streams remember it the same way). */
  lastPosition: number;
  /** Highest position whose append completed (lastPosition also counts appends in progress). */
  committedPosition: number;
  state: string | null;
}

export interface MemoryLiveStoreOptions {
  /** Milliseconds clock for lock expiry; tests inject one to expire leases without waiting. */
  now?: () => number;
}

/**
 * The LiveStore in one process's memory: nothing survives a restart. Same semantics as the Redis
 * adapter, including JSON round trips, so the contract suite holds for both. Tests and in-memory
 * servers use it as it is; the embedded server on disk uses it under a write-ahead log (file.ts).
 */
export class MemoryLiveStore implements LiveStore {
  readonly kind: LiveStore["kind"] = "memory";
  protected readonly universes = new Map<string, Universe>();
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryLiveStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async ping(): Promise<void> {
    // in the process: it answers whenever the process does
  }

  async close(): Promise<void> {
    this.closed = true;
    this.universes.clear();
  }

  async acquire(universeId: string, owner: string, ttlMs: number, floor = 0): Promise<Lease | null> {
    checkPosition(floor);
    const ttl = checkTtl(ttlMs);
    const universe = this.universe(universeId);
    const lock = this.currentLock(universe);
    if (lock && lock.owner !== owner) return null;
    if (lock) {
      lock.expiresAt = this.now() + ttl;
      return { universeId, owner, token: lock.token };
    }
    universe.fence = Math.max(universe.fence, floor) + 1;
    universe.lock = { owner, token: universe.fence, expiresAt: this.now() + ttl };
    return { universeId, owner, token: universe.fence };
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs);
    const lock = this.heldLock(lease);
    if (!lock) return false;
    lock.expiresAt = this.now() + ttl;
    return true;
  }

  async release(lease: Lease): Promise<void> {
    if (this.heldLock(lease)) this.universe(lease.universeId).lock = null;
  }

  async owner(universeId: string): Promise<{ owner: string; token: number } | null> {
    const universe = this.find(universeId);
    const lock = universe ? this.currentLock(universe) : null;
    return lock ? { owner: lock.owner, token: lock.token } : null;
  }

  async appendTurns(lease: Lease, turns: Turn[]): Promise<void> {
    this.admit(lease, turns).commit();
  }

  /**
   * Checks an append and takes its positions at once (a later append must follow them), and
   * returns the turns as JSON with `commit`, which makes them readable. A store that must write
   * them somewhere first commits once they are written; a universe dropped meanwhile stays dropped.
   */
  protected admit(lease: Lease, turns: Turn[]): { entries: Universe["wal"]; commit: () => void } {
    checkBatch(lease, turns);
    if (!this.heldLock(lease)) throw new FencedError(lease.universeId, lease.token);
    const universe = this.universe(lease.universeId);
    const first = turns[0];
    if (first && first.position <= universe.lastPosition)
      throw new TurnOrderError(lease.universeId, first.position);
    universe.lastPosition = turns.at(-1)?.position ?? universe.lastPosition;
    const entries = turns.map((turn) => ({ position: turn.position, json: JSON.stringify(turn) }));
    return {
      entries,
      commit: () => {
        if (this.universes.get(lease.universeId) !== universe) return;
        for (const entry of entries) universe.wal.push(entry);
        universe.committedPosition = entries.at(-1)?.position ?? universe.committedPosition;
      },
    };
  }

  /** A stream here goes only with the process (memory) or with its data folder (file). */
  async streamExists(universeId: string): Promise<boolean> {
    this.find(universeId);
    return true;
  }

  async ensureStream(lease: Lease, afterPosition: number): Promise<void> {
    checkPosition(afterPosition);
    if (!this.heldLock(lease)) throw new FencedError(lease.universeId, lease.token);
    const universe = this.universe(lease.universeId);
    if (universe.lastPosition === 0) universe.lastPosition = afterPosition;
  }

  async readTail(universeId: string, afterPosition: number): Promise<Turn[]> {
    return (this.find(universeId)?.wal ?? [])
      .filter((entry) => entry.position > afterPosition)
      .map((entry) => JSON.parse(entry.json) as Turn);
  }

  async streamHead(universeId: string): Promise<number> {
    return this.find(universeId)?.wal.at(-1)?.position ?? 0;
  }

  async readStream(universeId: string): Promise<StreamView> {
    const universe = this.find(universeId);
    return {
      turns: (universe?.wal ?? []).map((entry) => JSON.parse(entry.json) as Turn),
      // not lastPosition: an append in progress is not acknowledged, nor readable yet
      last: universe?.committedPosition ?? 0,
    };
  }

  async trim(universeId: string, throughPosition: number): Promise<void> {
    const universe = this.find(universeId);
    if (universe) universe.wal = universe.wal.filter((entry) => entry.position > throughPosition);
  }

  async putState(lease: Lease, position: number, state: UniverseState): Promise<void> {
    checkPosition(position);
    if (!this.heldLock(lease)) throw new FencedError(lease.universeId, lease.token);
    this.universe(lease.universeId).state = JSON.stringify({ position, state });
  }

  async getState(universeId: string): Promise<{ position: number; state: UniverseState } | null> {
    const json = this.find(universeId)?.state ?? null;
    return json === null ? null : (JSON.parse(json) as { position: number; state: UniverseState });
  }

  async drop(universeId: string): Promise<void> {
    this.assertOpen();
    this.universes.delete(universeId);
  }

  protected find(universeId: string): Universe | undefined {
    this.assertOpen();
    return this.universes.get(universeId);
  }

  protected universe(universeId: string): Universe {
    let universe = this.find(universeId);
    if (!universe) {
      universe = { fence: 0, lock: null, wal: [], lastPosition: 0, committedPosition: 0, state: null };
      this.universes.set(universeId, universe);
    }
    return universe;
  }

  private currentLock(universe: Universe): Lock | null {
    if (universe.lock && universe.lock.expiresAt <= this.now()) universe.lock = null;
    return universe.lock;
  }

  /** The universe's lock when it is exactly this lease (same owner and token), unexpired. */
  private heldLock(lease: Lease): Lock | null {
    const universe = this.find(lease.universeId);
    const lock = universe ? this.currentLock(universe) : null;
    return lock && lock.owner === lease.owner && lock.token === lease.token ? lock : null;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the memory live store is closed");
  }
}
