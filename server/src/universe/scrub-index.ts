import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { upgradeDeltas, type Delta } from "@loom/shared";
import { log } from "../log.ts";
import type { StateAt, TurnStore } from "../persist/turn-store.ts";
import type { ScrubSummary } from "./scrub-summary.ts";
import { TimelineBriefs } from "./timeline-briefs.ts";
import type { ScrubTurns } from "./scrub-turns.ts";

/** What an index is built from: the stored timeline (every position it covers is persisted). */
export type IndexSource = Pick<TurnStore, "headPosition" | "turnTexts"> & {
  stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">>;
};

/** Turns read per query while building; small enough that a page's parse never stalls play. */
const PAGE = 500;
/** A universe shorter than this is scrubbed from its snapshots alone: they are few and close together. */
export const INDEX_FROM = 1_000;
/**
 * Universes indexed at once, least recently scrubbed dropped first. An index holds what changed
 * of the brief, turn by turn, and the state at its last position, which it walks on from when the
 * universe grows: a few times the world, not a copy of it per position.
 */
const INDEXES = 2;
/** An index nobody scrubbed for this long is dropped. */
const IDLE_MS = 5 * 60_000;

interface Index {
  /** Null until the state at position 0 is read. */
  briefs: TimelineBriefs | null;
  building: Promise<void> | null;
  idle: NodeJS.Timeout;
}

/**
 * The scrubber's brief of every position of a long universe (scrub-summary.ts), so that a jump
 * anywhere in its history is a lookup instead of a snapshot's parse and a replay (on a large world
 * tens of milliseconds). Built once, in the background, from the first scrub of a universe, by
 * walking its stored timeline from the start (timeline-briefs.ts).
 *
 * The state at a position never changes once stored (the log is append-only; undo and retcon are
 * later turns), so neither does its brief. A universe that grows is indexed further when a jump
 * lands past the index.
 */
export class ScrubIndex {
  private readonly indexes = new Map<string, Index>();

  /** `turns`: where the walk hands the turns it reads, when a scrub can be answered from them. */
  constructor(
    private readonly source: IndexSource,
    private readonly turns: ScrubTurns | null = null,
  ) {}

  /**
   * The brief at `position`, or null while the index does not reach it (then it starts or extends
   * the index, and the caller reads the state another way).
   */
  briefAt(universeId: string, position: number): ScrubSummary | null {
    const index = this.indexes.get(universeId);
    if (!index) {
      this.start(universeId);
      return null;
    }
    this.touch(universeId, index);
    const through = index.briefs?.through ?? -1;
    if (position > through && !index.building) this.extend(universeId, index);
    return position <= through && position >= 0 ? index.briefs!.at(position) : null;
  }

  /** Positions the index of a universe covers (testing and diagnostics). */
  coverage(universeId: string): { through: number; building: boolean } | null {
    const index = this.indexes.get(universeId);
    if (!index) return null;
    return { through: index.briefs?.through ?? 0, building: index.building !== null };
  }

  /** Resolves when the universe's index has caught up with what was stored when it was asked. */
  async ready(universeId: string): Promise<void> {
    while (this.indexes.get(universeId)?.building) await this.indexes.get(universeId)!.building;
  }

  close(): void {
    for (const index of this.indexes.values()) clearTimeout(index.idle);
    this.indexes.clear();
    this.turns?.close();
  }

  private start(universeId: string): void {
    const index: Index = {
      briefs: null,
      building: null,
      idle: setTimeout(() => this.drop(universeId), IDLE_MS).unref(),
    };
    this.indexes.set(universeId, index);
    this.turns?.follow(universeId);
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
    if (!index.briefs) {
      if (head < INDEX_FROM) {
        // too short to need one: forget it, so that it is asked again once the universe has grown
        this.drop(universeId);
        return;
      }
      // a private copy: the walk changes it in place
      const genesis = structuredClone((await this.source.stateWithoutChecksum(universeId, 0)).state);
      index.briefs = new TimelineBriefs(0, genesis);
    }
    const briefs = index.briefs;
    while (briefs.through < head && this.indexes.get(universeId) === index) {
      const from = briefs.through;
      // pages end on multiples of PAGE, so that the turns' blocks are whole once the walk has grown
      const to = Math.min(head, (Math.floor(from / PAGE) + 1) * PAGE);
      const version = this.turns?.turnsVersion(universeId) ?? null;
      const turns = await this.source.turnTexts(universeId, from, to);
      const kept = this.turns?.keep(universeId, turns, version);
      for (const turn of turns)
        briefs.walk(turn.position, upgradeDeltas(JSON.parse(turn.deltas!) as Delta[]));
      if (briefs.through < to) throw new RangeError(`${universeId}: turns after ${briefs.through} missing`);
      await kept;
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
    this.turns?.forget(universeId);
  }
}
