import { promisify } from "node:util";
import { deflateRaw, inflateRawSync } from "node:zlib";
import type { Turn } from "@loom/shared";
import { turnJson } from "../export/source.ts";
import { log } from "../log.ts";
import type { TimelineChange, TimelineWatch, TimelineWatching } from "../persist/timeline-changes.ts";
import type { TurnStore, TurnText, UniverseRecord } from "../persist/turn-store.ts";

/**
 * How old a kept record may be before a scrub reads it again behind its answer, and past which a
 * scrub reads it first. Nothing announces an append from another process (the database's notices
 * leave head moves out: timeline-notices.ts), so this bounds how far behind a kept head can be;
 * it also bounds any record a notice failed to drop.
 */
export const RECORD_REFRESH_MS = 500;
export const RECORD_MAX_AGE_MS = 2_000;

/**
 * Turns a block holds: one block is inflated for a scrub, so a far jump costs one small inflate.
 * It divides the index walk's page (scrub-index.ts), so that every block of a page is whole.
 */
export const TURN_BLOCK = 20;

export type ScrubTurnSource = Pick<TurnStore, "universeAndTurn" | "getUniverse" | "turnTexts"> &
  TimelineWatch &
  TimelineWatching;

interface Kept {
  /** The universe and its ancestors, whose rows it shares; null until read. */
  chain: ReadonlySet<string> | null;
  /** Moves with every change to the record; a record read that spans a move is not kept. */
  recordVersion: number;
  /** Moves with every append: the record kept stands, its head is read again. */
  headVersion: number;
  /** `headVersion` when the record kept was read: behind it, the record's head may be behind. */
  recordHeads: number;
  /** When the read of the record kept began (performance.now()). */
  recordReadAt: number;
  /** Moves with every change to a stored turn the timeline shows. */
  turnsVersion: number;
  record: UniverseRecord | null;
  /** Block k holds positions k·TURN_BLOCK + 1 through (k + 1)·TURN_BLOCK: their API JSON, deflated. */
  blocks: Map<number, Uint8Array>;
  /** The last block inflated, for the next scrub that rests near it. */
  open: { block: number; lines: string[] } | null;
  /** A block being read again after a change dropped it. */
  refilling: boolean;
  /** The record being read again after a change dropped it. */
  rereading: boolean;
  /** The highest block the index's walk has handed over: blocks past it are its to read. */
  reach: number;
}

/**
 * The stored turns and the record of the universes the scrubber indexes, answering a scrub on the
 * server's thread, without a round trip to the store (which is most of a scrub, and all of its
 * tail on a busy machine). Only for a store that is told of every write (`watchChanges`): this
 * process's writes before they are sent and after they settle, and what they may change is
 * dropped both times; on Postgres, other processes' writes as the database announces them
 * (timeline-notices.ts), which bounds how long a read that a remote commit overlapped stays kept
 * by the notice's delay. While the store cannot hear every change (`watching()` false), nothing
 * is kept or answered from. Stored turns change only by a narration, a retelling, an undo mark or
 * a dice reveal; the record by membership changes, and its head by appends, which leave the rest
 * of it standing (the head is read again behind them; another process's appends are not told, so
 * a kept record is also read again once it is RECORD_REFRESH_MS old, and not used past
 * RECORD_MAX_AGE_MS, where other processes write).
 *
 * The turns come from the index's walk (scrub-index.ts), which reads every one of them anyway, and
 * are kept deflated a block at a time: about a tenth of their text.
 */
export class ScrubTurns {
  private readonly kept = new Map<string, Kept>();
  private readonly unwatch: () => void;
  /**
   * Whether kept records age: where other processes write (a store whose `watching` says whether
   * it hears them), an append of theirs is not told. A store that sees every write needs no age.
   */
  private readonly ageing: boolean;

  constructor(private readonly store: ScrubTurnSource) {
    this.unwatch = store.watchChanges((change) => this.changed(change));
    this.ageing = typeof store.watching === "function";
  }

  /** Starts keeping a universe's record and turns (its index has started). */
  follow(universeId: string): void {
    if (this.kept.has(universeId)) return;
    const kept: Kept = {
      chain: null,
      recordVersion: 0,
      headVersion: 0,
      recordHeads: 0,
      recordReadAt: 0,
      turnsVersion: 0,
      record: null,
      blocks: new Map(),
      open: null,
      refilling: false,
      rereading: false,
      reach: -1,
    };
    this.kept.set(universeId, kept);
    void this.chainOf(universeId).then(
      (chain) => {
        if (this.kept.get(universeId) === kept) kept.chain = chain;
      },
      (err: unknown) => {
        log.warn("scrub turns not kept: the universe's ancestry could not be read", { universeId, err });
        this.forget(universeId);
      },
    );
  }

  forget(universeId: string): void {
    this.kept.delete(universeId);
  }

  close(): void {
    this.unwatch();
    this.kept.clear();
  }

  /** What a page read now must be stamped with to be kept (`keep`); null when not followed. */
  turnsVersion(universeId: string): number | null {
    return this.kept.get(universeId)?.turnsVersion ?? null;
  }

  /**
   * Keeps the complete blocks of `texts` (a stretch of the universe's timeline, read with deltas)
   * when nothing that could change them happened since `version` was taken. Deflated on the
   * thread pool, so the server's thread only puts the JSON together.
   */
  async keep(universeId: string, texts: readonly TurnText[], version: number | null): Promise<void> {
    const kept = this.kept.get(universeId);
    if (!kept || version === null || kept.turnsVersion !== version || texts.length === 0) return;
    if (!this.watching()) return;
    const first = texts[0]!.position;
    const packing: Array<Promise<void>> = [];
    for (let start = Math.ceil((first - 1) / TURN_BLOCK) * TURN_BLOCK + 1; ; start += TURN_BLOCK) {
      const offset = start - first;
      if (offset + TURN_BLOCK > texts.length) break;
      const lines: string[] = [];
      for (let i = offset; i < offset + TURN_BLOCK; i++) {
        const text = texts[i]!;
        if (text.position !== start + i - offset || text.deltas === null) return;
        lines.push(turnJson(text));
      }
      const block = (start - 1) / TURN_BLOCK;
      packing.push(
        deflated(lines.join("\n")).then((packed) => {
          // a change while it was deflated may have been to one of its turns
          if (this.kept.get(universeId) !== kept || kept.turnsVersion !== version) return;
          kept.blocks.set(block, packed);
          kept.reach = Math.max(kept.reach, block);
        }),
      );
    }
    await Promise.all(packing);
  }

  /** Blocks kept for a universe, and their bytes (diagnostics, tests). */
  held(universeId: string): { blocks: number; bytes: number } | null {
    const kept = this.kept.get(universeId);
    if (!kept) return null;
    let bytes = 0;
    for (const block of kept.blocks.values()) bytes += block.length;
    return { blocks: kept.blocks.size, bytes };
  }

  /**
   * As the store's `universeAndTurn`: from what is kept when it holds the answer, otherwise read
   * (and the record kept, when no change to it overlapped the read). Behind an append, until the
   * record is read again, its head may be one the universe had before: positions past it are read.
   */
  async universeAndTurn(
    universeId: string,
    position: number,
  ): Promise<{ universe: UniverseRecord; turn: Turn | null } | null> {
    const kept = this.kept.get(universeId);
    const age = !kept ? Infinity : this.ageing ? performance.now() - kept.recordReadAt : 0;
    if (kept?.record && kept.chain && this.watching() && age <= RECORD_MAX_AGE_MS) {
      if (age > RECORD_REFRESH_MS) this.reread(universeId, kept);
      const universe = kept.record;
      const past = position > universe.headPosition;
      if (position <= 0 || (past && kept.recordHeads === kept.headVersion)) return { universe, turn: null };
      const turn = past ? null : this.turnAt(kept, position);
      if (turn) return { universe, turn };
      if (!past) this.refill(universeId, kept, position);
    }
    const version = kept?.recordVersion;
    const heads = kept?.headVersion ?? 0;
    const started = performance.now();
    const read = await this.store.universeAndTurn(universeId, position);
    if (
      read &&
      kept &&
      this.kept.get(universeId) === kept &&
      kept.recordVersion === version &&
      this.watching()
    )
      this.keepRecord(kept, read.universe, heads, started);
    return read;
  }

  private keepRecord(kept: Kept, record: UniverseRecord | null, heads: number, readAt: number): void {
    kept.record = record;
    kept.recordHeads = heads;
    kept.recordReadAt = readAt;
  }

  private turnAt(kept: Kept, position: number): Turn | null {
    const block = Math.floor((position - 1) / TURN_BLOCK);
    if (kept.open?.block !== block) {
      const packed = kept.blocks.get(block);
      if (!packed) return null;
      kept.open = { block, lines: inflateRawSync(packed).toString().split("\n") };
    }
    return JSON.parse(kept.open.lines[(position - 1) % TURN_BLOCK]!) as Turn;
  }

  /** Reads again, in the background, a block of the indexed stretch that a change dropped. */
  private refill(universeId: string, kept: Kept, position: number): void {
    const block = Math.floor((position - 1) / TURN_BLOCK);
    if (kept.refilling || block > kept.reach) return;
    const from = block * TURN_BLOCK;
    kept.refilling = true;
    const version = kept.turnsVersion;
    this.store
      .turnTexts(universeId, from, from + TURN_BLOCK)
      .then((texts) => this.keep(universeId, texts, version))
      .catch((err: unknown) => {
        if (this.kept.get(universeId) === kept)
          log.warn("scrub turns: a block was not read again", { universeId, err });
      })
      .finally(() => (kept.refilling = false));
  }

  /**
   * Reads the record again in the background once a change dropped it or moved its head: a
   * universe being played moves its head with every persist, and the scrubs between two persists
   * need not cross to the store for it. A read that a change overlapped is read again; one that
   * only a head move overlapped is kept meanwhile (its head is one the universe had).
   */
  private reread(universeId: string, kept: Kept): void {
    if (kept.rereading) return;
    kept.rereading = true;
    const { recordVersion, headVersion } = kept;
    const started = performance.now();
    this.store
      .getUniverse(universeId)
      .then((record) => {
        if (this.kept.get(universeId) !== kept) return;
        if (kept.recordVersion === recordVersion && this.watching())
          this.keepRecord(kept, record, headVersion, started);
        if (kept.recordVersion !== recordVersion || kept.headVersion !== headVersion)
          setImmediate(() => this.reread(universeId, kept));
      })
      .catch((err: unknown) => {
        // a store closed under it (a shutdown) is no news once the universe is forgotten
        if (this.kept.get(universeId) === kept)
          log.warn("scrub turns: the record was not read again", { universeId, err });
      })
      .finally(() => (kept.rereading = false));
  }

  /** False while the store cannot tell every change (scrub copies are neither kept nor used). */
  private watching(): boolean {
    return this.store.watching?.() ?? true;
  }

  private changed(change: TimelineChange): void {
    for (const [universeId, kept] of this.kept) {
      if (change.records === "all" || change.records.includes(universeId)) {
        kept.recordVersion++;
        kept.record = null;
        this.reread(universeId, kept);
      } else if (change.heads?.includes(universeId)) {
        kept.headVersion++;
        this.reread(universeId, kept);
      }
      if (change.turns === "all") {
        kept.turnsVersion++;
        kept.blocks.clear();
        kept.open = null;
        continue;
      }
      for (const turn of change.turns) {
        // until the ancestry is known, a change anywhere may be one this timeline shows
        if (kept.chain && !kept.chain.has(turn.universeId)) continue;
        kept.turnsVersion++;
        if (turn.position === null) kept.blocks.clear();
        else kept.blocks.delete(Math.floor((turn.position - 1) / TURN_BLOCK));
        kept.open = null;
      }
    }
  }

  private async chainOf(universeId: string): Promise<Set<string>> {
    const chain = new Set<string>();
    for (let id: string | null = universeId; id !== null && !chain.has(id);) {
      chain.add(id);
      const record = await this.store.getUniverse(id);
      id = record?.parentId ?? null;
    }
    return chain;
  }
}

const deflateRawAsync = promisify(deflateRaw);

/** Deflated at level 1, in a buffer of its own size (zlib's result sits in a larger chunk). */
async function deflated(text: string): Promise<Uint8Array> {
  const packed = await deflateRawAsync(text, { level: 1 });
  return Uint8Array.prototype.slice.call(packed);
}
