import { randomUUID } from "node:crypto";
import { checksum } from "@loom/shared";
import type { Turn, UniverseState } from "@loom/shared";
import { partedState } from "../snapshot-parts.ts";
import type { SnapshotWrite, TurnStore } from "../turn-store.ts";
import { syntheticCampaign } from "./campaign.ts";
import type { SyntheticCampaign } from "./campaign.ts";

export interface BuildOptions {
  turns: number;
  /** Turns per appendTurns call. */
  batch?: number;
  /** A snapshot every this many turns, written with the batch that reaches it (0: none). */
  snapshotEvery?: number;
  narrate?: boolean;
  seed?: number;
  id?: string;
  /** Continue a branch: its id, the state at its branch position and that position. */
  branchOf?: { state: UniverseState; position: number };
  /** Called after each batch with the head reached. */
  progress?: (head: number) => void;
  /** Positions whose live-state checksum to record (besides snapshots and the last one). */
  checksumAt?: (position: number) => boolean;
  /** Keep every appended turn in `turns` (tests compare them; benchmarks need not hold 100 000). */
  keepTurns?: boolean;
  /**
   * Snapshots cut around their parts, as a server writes them (snapshot-parts.ts; the default),
   * or their states whole, as a database from before `snapshot_parts` holds them.
   */
  partedSnapshots?: boolean;
}

export interface BuiltUniverse {
  id: string;
  campaign: SyntheticCampaign;
  /** Checksums of the live state at the start, at snapshots, at `checksumAt` positions and at the end. */
  checksums: Map<number, string>;
  turns: Turn[];
}

/** A fresh id, so tests sharing one database never meet. */
export const freshId = (prefix: string) => `${prefix}-${randomUUID()}`;

export const randomSeed = () => Math.floor(Math.random() * 2 ** 31);

/**
 * Creates a universe (or continues an existing branch) and appends a synthetic campaign to it in
 * batches, with snapshots per the policy, checking nothing: the caller compares.
 */
export async function buildUniverse(store: TurnStore, options: BuildOptions): Promise<BuiltUniverse> {
  const seed = options.seed ?? randomSeed();
  const id = options.id ?? freshId("universe");
  const start = options.branchOf?.position ?? 0;
  const campaign = syntheticCampaign({
    universeId: id,
    seed,
    narrate: options.narrate,
    genesis: options.branchOf?.state,
    startAfter: start,
  });
  if (!options.branchOf)
    await store.createUniverse({ id, name: `Synthetic ${seed}`, createdBy: "builder" }, campaign.genesis);
  const checksums = new Map([[start, checksum(campaign.state)]]);
  const kept: Turn[] = [];
  const batchSize = options.batch ?? 500;
  const every = options.snapshotEvery ?? 100;
  for (let head = start; head < start + options.turns;) {
    const turns: Turn[] = [];
    const snapshots: SnapshotWrite[] = [];
    const count = Math.min(batchSize, start + options.turns - head);
    for (let i = 0; i < count; i++) {
      const turn = campaign.next();
      turns.push(turn);
      const snapshotDue = every > 0 && turn.position % every === 0;
      const last = turn.position === start + options.turns;
      // a snapshot cut around its parts brings its checksum along
      const parted = snapshotDue && options.partedSnapshots !== false ? partedState(campaign.state) : null;
      if (parted) checksums.set(turn.position, parted.checksum);
      else if (snapshotDue || last || options.checksumAt?.(turn.position))
        checksums.set(turn.position, checksum(campaign.state));
      if (snapshotDue) {
        const snapshot = {
          universeId: id,
          position: turn.position,
          checksum: checksums.get(turn.position)!,
          reason: "interval_turns" as const,
          createdAt: turn.createdAt,
        };
        snapshots.push(
          parted ? { ...snapshot, stateParts: parted.parts } : { ...snapshot, state: campaign.state },
        );
      }
    }
    await store.appendTurns(id, { expectedHead: head, turns, snapshots });
    head += count;
    if (options.keepTurns !== false) kept.push(...turns);
    options.progress?.(head);
  }
  return { id, campaign, checksums, turns: kept };
}
