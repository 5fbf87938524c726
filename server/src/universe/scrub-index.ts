import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { applyDeltas, upgradeDeltas, type Delta, type UniverseState } from "@loom/shared";
import { log } from "../log.ts";
import type { StateAt, TurnStore } from "../persist/turn-store.ts";

/** What an index is built from: the stored timeline (every position it covers is persisted). */
export type IndexSource = Pick<TurnStore, "headPosition" | "turnTexts"> & {
  stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">>;
};

/** Positions between two checkpoints: a jump walks fewer turns than this. */
export const CHECKPOINT_EVERY = 20;
/** Turns read per query while building; small enough that a page's parse never stalls play. */
const PAGE = 500;
/** A universe shorter than this jumps from its snapshots alone: they are few and close together. */
export const INDEX_FROM = 1_000;
/**
 * Universes indexed at once, least recently scrubbed dropped first. An index costs the containers
 * its turns changed, once per checkpoint: for a campaign of 100,000 turns whose world reached
 * 1.7 MB, about 340 MB of heap with the deltas held (docs/performance.md).
 */
const INDEXES = 2;
/** An index nobody scrubbed for this long is dropped. */
const IDLE_MS = 5 * 60_000;

interface Index {
  /** checkpoints[k] is the state after position k × CHECKPOINT_EVERY. */
  checkpoints: UniverseState[];
  /** Deltas read past the last checkpoint, not applied yet; `read` is the last position read. */
  pending: Delta[];
  /**
   * Each position's deltas as the database's JSON text (texts[p - 1] for position p): a jump walks
   * from a checkpoint without reading the turns in between again, and text costs a fraction of
   * the parsed deltas.
   */
  texts: string[];
  read: number;
  building: Promise<void> | null;
  idle: NodeJS.Timeout;
}

/**
 * States at every CHECKPOINT_EVERY positions of a universe being scrubbed, so that a jump anywhere
 * in its history walks a few turns from one instead of parsing a snapshot of the whole world (on a
 * large world tens of milliseconds). The checkpoints are built once, in the background, from the
 * first scrub of a universe, by walking its stored timeline from the start with `applyDeltas`:
 * each checkpoint shares with the one before it every object the turns in between did not change,
 * so the index of a long campaign costs the changes, not a copy of the world per checkpoint.
 *
 * A state at a position never changes once stored (the log is append-only; undo and retcon are
 * later turns), so a checkpoint is valid for as long as it is kept. A universe that grows is
 * indexed further when a jump lands past the index.
 */
export class ScrubIndex {
  private readonly indexes = new Map<string, Index>();

  constructor(private readonly source: IndexSource) {}

  /**
   * The checkpoint at or before `position` (the last one built when the position is past it), or
   * null while the universe has none. Starts or extends the index.
   */
  nearest(universeId: string, position: number): { position: number; state: UniverseState } | null {
    const index = this.indexes.get(universeId);
    if (!index) {
      this.start(universeId);
      return null;
    }
    this.touch(universeId, index);
    const built = (index.checkpoints.length - 1) * CHECKPOINT_EVERY;
    if (position > built + CHECKPOINT_EVERY && !index.building) this.extend(universeId, index);
    if (index.checkpoints.length === 0) return null;
    // the one at or before: the walk from it goes forward, over the deltas the index holds
    const k = Math.min(Math.floor(position / CHECKPOINT_EVERY), index.checkpoints.length - 1);
    return { position: k * CHECKPOINT_EVERY, state: index.checkpoints[k]! };
  }

  /** The deltas of the turns in (from, to], in order, or null unless the index has read them all. */
  deltasBetween(universeId: string, from: number, to: number): Delta[] | null {
    const index = this.indexes.get(universeId);
    if (!index || from < 0 || to > index.read || from > to) return null;
    const deltas: Delta[] = [];
    for (let position = from + 1; position <= to; position++)
      deltas.push(...upgradeDeltas(JSON.parse(index.texts[position - 1]!) as Delta[]));
    return deltas;
  }

  /** Positions the index of a universe covers (testing and diagnostics). */
  coverage(universeId: string): { checkpoints: number; through: number; building: boolean } | null {
    const index = this.indexes.get(universeId);
    if (!index) return null;
    return {
      checkpoints: index.checkpoints.length,
      through: Math.max(0, (index.checkpoints.length - 1) * CHECKPOINT_EVERY),
      building: index.building !== null,
    };
  }

  /** Resolves when the universe's index has caught up with what was stored when it was asked. */
  async ready(universeId: string): Promise<void> {
    while (this.indexes.get(universeId)?.building) await this.indexes.get(universeId)!.building;
  }

  close(): void {
    for (const index of this.indexes.values()) clearTimeout(index.idle);
    this.indexes.clear();
  }

  private start(universeId: string): void {
    const index: Index = {
      checkpoints: [],
      pending: [],
      texts: [],
      read: 0,
      building: null,
      idle: setTimeout(() => this.drop(universeId), IDLE_MS).unref(),
    };
    this.indexes.set(universeId, index);
    while (this.indexes.size > INDEXES) this.drop(this.indexes.keys().next().value!);
    this.extend(universeId, index);
  }

  private extend(universeId: string, index: Index): void {
    index.building = this.build(universeId, index)
      .catch((err: unknown) => {
        // the scrubber still answers from snapshots; the next jump tries again
        if (this.indexes.get(universeId) === index) this.drop(universeId);
        log.warn("scrub index not built", { universeId, err });
      })
      .finally(() => {
        index.building = null;
      });
  }

  private async build(universeId: string, index: Index): Promise<void> {
    const head = await this.source.headPosition(universeId);
    if (index.checkpoints.length === 0) {
      if (head < INDEX_FROM) {
        // too short to need one: forget it, so that it is asked again once the universe has grown
        this.drop(universeId);
        return;
      }
      index.checkpoints.push((await this.source.stateWithoutChecksum(universeId, 0)).state);
    }
    let state = index.checkpoints[index.checkpoints.length - 1]!;
    while (index.read < head && this.indexes.get(universeId) === index) {
      const to = Math.min(head, index.read + PAGE);
      const turns = await this.source.turnTexts(universeId, index.read, to);
      for (const turn of turns) {
        if (turn.position !== index.read + 1)
          throw new RangeError(`${universeId}: turn ${turn.position} read after ${index.read}`);
        index.pending.push(...upgradeDeltas(JSON.parse(turn.deltas!) as Delta[]));
        index.texts.push(turn.deltas!);
        index.read = turn.position;
        if (turn.position % CHECKPOINT_EVERY === 0) {
          // one application per checkpoint: each container the turns in between changed is copied once
          state = applyDeltas(state, index.pending);
          index.pending = [];
          index.checkpoints.push(state);
        }
      }
      if (index.read < to) throw new RangeError(`${universeId}: turns after ${index.read} missing`);
      await yieldToEventLoop();
    }
  }

  private touch(universeId: string, index: Index): void {
    index.idle.refresh();
    // most recently scrubbed last
    this.indexes.delete(universeId);
    this.indexes.set(universeId, index);
  }

  private drop(universeId: string): void {
    const index = this.indexes.get(universeId);
    if (!index) return;
    clearTimeout(index.idle);
    this.indexes.delete(universeId);
  }
}
