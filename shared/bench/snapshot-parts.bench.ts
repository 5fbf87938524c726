// Snapshot parts: how much of a campaign's state changes between two snapshots 100 turns apart,
// counted in the state's own parts: every bucket of a bucketed record (NPCs, locations, quests,
// canon facts; buckets.ts) is a part, and the rest of the state (the header, the characters, the
// scene, the summaries) is its skeleton. Played by the rules with the turn-store benchmarks' seed,
// 100,000 turns. A snapshot stored by part would write only the parts a turn since the previous
// snapshot replaced (the rules copy what they change, so an unchanged part is the same object),
// and a jump that holds a neighbouring snapshot's parts would read only those (docs/performance.md,
// "Jumps on a large world: snapshots by part").
import { BUCKET_KEYS } from "../src/buckets.ts";
import { canonicalJson } from "../src/canonical.ts";
import { playCampaign } from "../src/testing/campaign.ts";
import { percentile } from "./timing.ts";

const TURNS = 100_000;
const SNAPSHOT_EVERY = 100;
const SEED = 16;
const MARKS = [10_000, 50_000, 100_000];

export default async function snapshotParts(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const { steps } = playCampaign({ seed: SEED, turns: TURNS, universeId: "snapshot-parts" });
  const lengths = new WeakMap<object, number>();
  const length = (part: object): number => {
    let bytes = lengths.get(part);
    if (bytes === undefined) lengths.set(part, (bytes = canonicalJson(part).length));
    return bytes;
  };
  let previous = new Set<object>();
  let wholeBytes = 0;
  let byPartBytes = 0;
  const changedBytes: number[] = [];
  const changedParts: number[] = [];
  const marks: Record<string, unknown> = {};
  let position = 0;
  for (const step of steps) {
    position += 1;
    if (position % SNAPSHOT_EVERY !== 0) continue;
    const { parts, skeletonBytes } = split(step.state);
    let bytes = 0;
    let changed = 0;
    let changedLength = 0;
    let largest = 0;
    for (const part of parts) {
      const partBytes = length(part);
      bytes += partBytes;
      largest = Math.max(largest, partBytes);
      if (!previous.has(part)) {
        changed += 1;
        changedLength += partBytes;
      }
    }
    wholeBytes += bytes + skeletonBytes;
    byPartBytes += changedLength + skeletonBytes;
    changedBytes.push(changedLength + skeletonBytes);
    changedParts.push(changed);
    if (MARKS.includes(position)) {
      marks[`at_${position}`] = {
        state_kb: Math.round((bytes + skeletonBytes) / 1024),
        skeleton_kb: Math.round(skeletonBytes / 1024),
        parts: parts.size,
        largest_part_kb: Math.round(largest / 1024),
        changed_since_previous_snapshot: changed,
        changed_kb: Math.round(changedLength / 1024),
      };
      process.stderr.write(
        `  ${position} turns played in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
    previous = parts;
  }
  changedBytes.sort((a, b) => a - b);
  changedParts.sort((a, b) => a - b);
  return {
    turns: TURNS,
    snapshots: changedBytes.length,
    ...marks,
    // per snapshot: the parts it does not share with the one before, and the skeleton
    new_kb_per_snapshot_p50_p99: [percentile(changedBytes, 0.5), percentile(changedBytes, 0.99)].map((b) =>
      Math.round(b / 1024),
    ),
    changed_parts_per_snapshot_p50_p99: [percentile(changedParts, 0.5), percentile(changedParts, 0.99)],
    // every snapshot's text whole, against each part written once (uncompressed both)
    whole_snapshots_mb: Math.round(wholeBytes / 2 ** 20),
    by_part_mb: Math.round(byPartBytes / 2 ** 20),
  };
}

/** The state's parts (every bucket of every bucketed record) and the length of the rest. */
function split(state: unknown): { parts: Set<object>; skeletonBytes: number } {
  const parts = new Set<object>();
  const skeleton = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map(skeleton);
    const record = value as Record<string, unknown>;
    if (isBuckets(record)) {
      for (const key of BUCKET_KEYS) parts.add(record[key] as object);
      return BUCKET_KEYS.length;
    }
    return Object.fromEntries(Object.entries(record).map(([key, member]) => [key, skeleton(member)]));
  };
  return { parts, skeletonBytes: canonicalJson(skeleton(state)).length };
}

function isBuckets(record: Record<string, unknown>): boolean {
  const keys = Object.keys(record);
  return keys.length === BUCKET_KEYS.length && keys.every((key, i) => key === BUCKET_KEYS[i]);
}
