import { describeError } from "../describe-error.ts";

export interface FailingUniverse {
  universeId: string;
  /** When the first of the failed writes in a row happened. */
  since: string;
  attempts: number;
  /** The last failure, described without the query's parameters. */
  error: string;
}

export interface PersistHealthReading {
  /** How many universes of this process cannot write their pending turns now. */
  failingUniverses: number;
  /** Which (an operator's view): their pending turns stay in the live store meanwhile. */
  failing: FailingUniverse[];
  /** Failed writes of pending turns since the process started. */
  failedWrites: number;
  /** Snapshots that could not be encoded since the process started. */
  failedSnapshots: number;
  /** Universes refused at opening since the process started, because a snapshot did not match its checksum. */
  damagedSnapshots: number;
  /** The last of them (an operator's view): `universeId@position`. */
  lastDamagedSnapshot: string | null;
}

/** What anyone may read: how many, not which universes nor what their errors say. */
export type PersistCounts = Omit<PersistHealthReading, "failing" | "lastDamagedSnapshot">;

export function countsOnly(reading: PersistHealthReading): PersistCounts {
  const { failing: _failing, lastDamagedSnapshot: _last, ...counts } = reading;
  return counts;
}

/**
 * Which universes of this process cannot persist: read by GET /metrics and GET /healthz, so an
 * operator sees a universe whose acknowledged turns are not reaching the database.
 */
export class PersistHealth {
  private readonly failing = new Map<string, FailingUniverse>();
  private failedWrites = 0;
  private failedSnapshots = 0;
  private damagedSnapshots = 0;
  private lastDamagedSnapshot: string | null = null;

  writeFailed(universeId: string, attempts: number, error: unknown): void {
    this.failedWrites += 1;
    const since = this.failing.get(universeId)?.since ?? new Date().toISOString();
    const text = describeError(error).split("\n")[0]!;
    this.failing.set(universeId, { universeId, since, attempts, error: text });
  }

  /** Written (or given up by this process): no longer failing here. */
  cleared(universeId: string): void {
    this.failing.delete(universeId);
  }

  snapshotFailed(_universeId: string): void {
    this.failedSnapshots += 1;
  }

  /** A universe did not open: the snapshot its state starts from does not match its checksum. */
  snapshotDamaged(universeId: string, position: number): void {
    this.damagedSnapshots += 1;
    this.lastDamagedSnapshot = `${universeId}@${position}`;
  }

  read(): PersistHealthReading {
    return {
      damagedSnapshots: this.damagedSnapshots,
      lastDamagedSnapshot: this.lastDamagedSnapshot,
      failingUniverses: this.failing.size,
      failing: [...this.failing.values()],
      failedWrites: this.failedWrites,
      failedSnapshots: this.failedSnapshots,
    };
  }
}
