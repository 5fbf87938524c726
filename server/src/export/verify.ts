import {
  applyDeltasInPlace,
  checksum,
  differingPaths,
  STATE_VERSION,
  upcastState,
  upgradeDeltas,
  type UniverseState,
} from "@loom/shared";
import type { SnapshotInfo, TurnStore } from "../persist/turn-store.ts";
import { turnPages, universeOrThrow, type Progress } from "./source.ts";

export interface SnapshotMismatch {
  position: number;
  /** The universe whose row holds the snapshot (an ancestor's for a shared position). */
  storedIn: string;
  /** `document`: the stored document is not the one its checksum was taken of; `replay`: the turns before it replay to another state. */
  kind: "document" | "replay";
  expected: string;
  actual: string;
  /** Where the snapshot's document and the replayed state differ (JSON Pointers, the first few). */
  paths: string[];
  /** Set when `--repair` rewrote it from the replayed state. */
  repaired: boolean;
}

/** Positions with no turn stored, where the timeline read skips some or ends before its head. */
export interface MissingTurns {
  /** The first position missing and the last (the head, when the timeline ends early). */
  from: number;
  through: number;
  /** The position read after them; null when the timeline ends before its head. */
  resumesAt: number | null;
  /** Snapshots at or below the head the walk did not reach, by position. */
  unchecked: number[];
}

export interface TimelineVerification {
  ok: boolean;
  universeId: string;
  head: number;
  turns: number;
  snapshots: number;
  headChecksum: string | null;
  mismatches: SnapshotMismatch[];
  /** The first stretch of turns missing, where the walk stopped; null when none is. */
  missing: MissingTurns | null;
}

export interface VerifyOptions {
  /** Rewrite each bad snapshot from the state replayed to its position, and go on. */
  repair?: boolean;
  onProgress?: Progress;
  /** Called with each mismatch as it is found, before any repair is written. */
  onMismatch?: (mismatch: SnapshotMismatch) => void;
  /** Called when turns are found missing, before the walk stops. */
  onMissing?: (missing: MissingTurns) => void;
  now?: () => Date;
}

function current(document: Record<string, unknown>): UniverseState {
  return document.version === STATE_VERSION ? (document as UniverseState) : upcastState(document);
}

/**
 * The whole timeline replayed from its genesis snapshot, turn page by turn page, and checked at
 * every snapshot: its document against its checksum, and the replayed state against the document
 * (after upcasting, the rule of StateReader.verifySnapshot). Stops at the first mismatch, unless
 * repairing: then the snapshot is rewritten from the replayed state (the previous good snapshot
 * plus the deltas since) and the walk goes on. A damaged genesis cannot be rebuilt.
 *
 * Every position from 1 to the head must hold a turn (a branch's first ones are its ancestors'):
 * the walk stops where one is missing, since nothing rebuilds a turn and every state replayed past
 * the hole would be wrong, and names the positions missing and the snapshots it did not reach.
 */
export async function verifyTimeline(
  store: TurnStore,
  universeId: string,
  options: VerifyOptions = {},
): Promise<TimelineVerification> {
  await universeOrThrow(store, universeId);
  const head = await store.headPosition(universeId);
  const list = (await store.listSnapshots(universeId)).filter((s) => s.position <= head);
  const report: TimelineVerification = {
    ok: true,
    universeId,
    head,
    turns: 0,
    snapshots: 0,
    headChecksum: null,
    mismatches: [],
    missing: null,
  };
  const genesisInfo = list[0];
  if (!genesisInfo || genesisInfo.position !== 0)
    throw new Error(`universe ${universeId} has no genesis snapshot`);
  const genesis = (await store.getSnapshotAtOrBefore(universeId, 0))!;
  const genesisSum = checksum(genesis.state);
  report.snapshots += 1;
  if (genesisSum !== genesis.checksum) {
    const mismatch: SnapshotMismatch = {
      position: 0,
      storedIn: genesisInfo.storedIn,
      kind: "document",
      expected: genesis.checksum,
      actual: genesisSum,
      paths: [],
      repaired: false,
    };
    options.onMismatch?.(mismatch);
    return { ...report, ok: false, mismatches: [mismatch] };
  }
  let state = current(genesis.state);
  let next = 1;
  const check = async (info: SnapshotInfo): Promise<boolean> => {
    const stored = (await store.getSnapshotAtOrBefore(universeId, info.position))!;
    const document = checksum(stored.state);
    const replayed = checksum(state);
    const upcast = current(stored.state);
    const expected = stored.state.version === STATE_VERSION ? stored.checksum : checksum(upcast);
    report.snapshots += 1;
    let mismatch: SnapshotMismatch | null = null;
    if (document !== stored.checksum)
      mismatch = {
        position: info.position,
        storedIn: info.storedIn,
        kind: "document",
        expected: stored.checksum,
        actual: document,
        paths: differingPaths(upcast, state),
        repaired: false,
      };
    else if (replayed !== expected)
      mismatch = {
        position: info.position,
        storedIn: info.storedIn,
        kind: "replay",
        expected,
        actual: replayed,
        paths: differingPaths(upcast, state),
        repaired: false,
      };
    if (!mismatch) return true;
    options.onMismatch?.(mismatch);
    report.ok = false;
    report.mismatches.push(mismatch);
    if (!options.repair) return false;
    await store.replaceSnapshot({
      universeId: info.storedIn,
      position: info.position,
      state,
      checksum: replayed,
      reason: info.reason,
      createdAt: (options.now?.() ?? new Date()).toISOString(),
    });
    mismatch.repaired = true;
    return true;
  };
  const stopMissing = (after: number, resumesAt: number | null): TimelineVerification => {
    const missing: MissingTurns = {
      from: after + 1,
      through: resumesAt === null ? head : resumesAt - 1,
      resumesAt,
      unchecked: list.slice(next).map((info) => info.position),
    };
    options.onMissing?.(missing);
    return { ...report, ok: false, missing };
  };
  // the position of the last turn read: the store reads by range, so a deleted row is just absent
  let last = 0;
  for await (const page of turnPages(store, universeId, 0, head)) {
    for (const turn of page) {
      if (turn.position !== last + 1) return stopMissing(last, turn.position);
      state = applyDeltasInPlace(state, upgradeDeltas(turn.deltas));
      report.turns += 1;
      last = turn.position;
      while (next < list.length && list[next]!.position <= turn.position) {
        if (!(await check(list[next++]!))) return report;
      }
    }
    options.onProgress?.(page[page.length - 1]!.position, head);
  }
  // every snapshot at or below the head was reached once every position up to it was
  if (last !== head) return stopMissing(last, null);
  report.headChecksum = checksum(state);
  return report;
}
