import type { Turn } from "@loom/shared";
import type { Lease } from "./live-store.ts";
import { MemoryLiveStore, type MemoryLiveStoreOptions, type Universe } from "./memory.ts";
import { WalLog, type WalLogOptions } from "./wal-log.ts";

export interface FileLiveStoreOptions extends MemoryLiveStoreOptions {
  /** The folder of the write-ahead log (`<LOOM_DATA_DIR>/wal` in the server). */
  dir: string;
  segmentBytes?: number;
  sync?: WalLogOptions["sync"];
}

type Record =
  | { k: "checkpoint"; universes: Array<{ u: string; last: number; turns: unknown[] }> }
  | { k: "turns"; u: string; turns: Array<{ position: number }> }
  | { k: "trim"; u: string; through: number }
  | { k: "drop"; u: string };

/**
 * The embedded live store on disk: the memory store, with every append written to a local
 * write-ahead log (wal-log.ts) and acknowledged only once that write is synced. An acknowledged
 * turn therefore survives kill -9 of the process, and a crash of the machine, while it waits for
 * the persist tick; on the next start the log is replayed here and the universe, when opened,
 * picks its unpersisted turns up exactly as it does from a Redis stream.
 *
 * Why a log beside PGlite rather than acknowledging after a PGlite commit: the log's write is a
 * few hundred bytes appended and synced in groups, off the event loop, while a PGlite commit
 * runs the whole persist transaction (turn rows, records, snapshots) in a single-threaded
 * database; tying every acknowledgement to it would put that transaction on the path of every
 * act, and the persister would lose its batching. The log keeps the room's pipeline identical in
 * both modes: append to the live store, acknowledge, persist on ticks, trim.
 *
 * What is not written: locks and fencing tokens, and the cached state. Only one process may use
 * a data folder (data-dir-lock.ts), so no lease of a previous process can still be alive to be
 * fenced, and the state is rebuilt from PGlite and the log on opening. Trims are written without
 * waiting for a sync: a trim lost in a crash only replays turns that PGlite already has, which
 * opening a universe skips.
 */
export class FileLiveStore extends MemoryLiveStore {
  override readonly kind = "file";
  private wal: WalLog | null = null;

  static async open(options: FileLiveStoreOptions): Promise<FileLiveStore> {
    const store = new FileLiveStore(options);
    store.wal = await WalLog.open(
      {
        dir: options.dir,
        segmentBytes: options.segmentBytes,
        sync: options.sync,
        checkpoint: () => store.checkpoint(),
      },
      (payloads) => {
        for (const payload of payloads) store.replay(JSON.parse(payload) as Record);
      },
    );
    return store;
  }

  private get log(): WalLog {
    if (!this.wal) throw new Error("the file live store is not open");
    return this.wal;
  }

  override async appendTurns(lease: Lease, turns: Turn[]): Promise<void> {
    const { entries, commit } = this.admit(lease, turns);
    if (entries.length === 0) return;
    const json = entries.map((entry) => entry.json).join(",");
    const record = `{"k":"turns","u":${JSON.stringify(lease.universeId)},"turns":[${json}]}`;
    try {
      await this.log.append(record, commit);
    } catch (error) {
      // Not written: its positions are free again for the retry (the authority refuses these
      // turns and decides the next command at the same position).
      const universe = this.universes.get(lease.universeId);
      if (universe && universe.lastPosition === entries.at(-1)!.position)
        universe.lastPosition = universe.committedPosition;
      throw error;
    }
  }

  override async trim(universeId: string, throughPosition: number): Promise<void> {
    await super.trim(universeId, throughPosition);
    if (this.find(universeId))
      this.log.note(JSON.stringify({ k: "trim", u: universeId, through: throughPosition }));
  }

  override async drop(universeId: string): Promise<void> {
    await super.drop(universeId);
    await this.log.append(JSON.stringify({ k: "drop", u: universeId }));
  }

  /** The universes whose log holds turns not yet trimmed: after a restart, those PGlite may lack. */
  universesWithTurns(): string[] {
    return [...this.universes].filter(([, universe]) => universe.wal.length > 0).map(([id]) => id);
  }

  /** Group syncs of the log so far. */
  get syncCount(): number {
    return this.log.syncCount;
  }

  override async close(): Promise<void> {
    await this.wal?.close();
    await super.close();
  }

  /** Everything a new segment must restate: each universe's untrimmed turns and last position. */
  private checkpoint(): string {
    const universes: string[] = [];
    for (const [id, universe] of this.universes) {
      // Appends still in progress are written after the checkpoint, so it holds what is committed.
      if (universe.wal.length === 0 && universe.committedPosition === 0) continue;
      const turns = universe.wal.map((entry) => entry.json).join(",");
      universes.push(`{"u":${JSON.stringify(id)},"last":${universe.committedPosition},"turns":[${turns}]}`);
    }
    return `{"k":"checkpoint","universes":[${universes.join(",")}]}`;
  }

  private replay(record: Record): void {
    switch (record.k) {
      case "checkpoint":
        for (const { u, last, turns } of record.universes) {
          const universe = this.universe(u);
          this.restore(universe, turns as Array<{ position: number }>);
          universe.lastPosition = Math.max(universe.lastPosition, last);
          universe.committedPosition = universe.lastPosition;
        }
        return;
      case "turns":
        this.restore(this.universe(record.u), record.turns);
        return;
      case "trim": {
        const universe = this.find(record.u);
        if (universe) universe.wal = universe.wal.filter((entry) => entry.position > record.through);
        return;
      }
      case "drop":
        this.universes.delete(record.u);
        return;
    }
  }

  private restore(universe: Universe, turns: Array<{ position: number }>): void {
    for (const turn of turns) {
      if (turn.position <= universe.lastPosition) continue;
      universe.wal.push({ position: turn.position, json: JSON.stringify(turn) });
      universe.lastPosition = turn.position;
      universe.committedPosition = turn.position;
    }
  }
}
