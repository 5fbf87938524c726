import type { Fleet, StoredTurn } from "./fleet.ts";
import { observedHeads, waitUntil } from "./load.ts";

export interface IntegrityReport {
  ok: boolean;
  /** "database": timelines read back through the GM's history pages; "broadcast": the GM's view (bare room). */
  source: "database" | "broadcast";
  universes: number;
  turnsStored: number;
  ackedTurns: number;
  timeline: {
    /** Positions missing from 1..head. */
    gaps: number;
    /** Positions stored more than once. */
    duplicatePositions: number;
    /** Turn ids stored more than once. */
    duplicateIds: number;
    /** Stored head behind the highest acknowledged position. */
    behindAcked: number;
  };
  acked: {
    /** Acknowledged turns absent from the stored timeline. */
    lost: number;
    /** Acknowledged turns stored more than once. */
    duplicated: number;
    /** Acknowledged turns stored at another position than the one acknowledged. */
    moved: number;
  };
  members: {
    checked: number;
    /** Broadcasts skipped between two received ones. */
    gaps: number;
    duplicates: number;
    reordered: number;
    /** Members whose first broadcast came after the head they joined at plus one. */
    lateStart: number;
    /** Members that never reached the universe's head. */
    behind: number;
    /** Broadcast turns whose id differs from the stored turn at that position. */
    mismatched: number;
  };
}

/**
 * Reads every universe's timeline back (all pages) once it is persisted and checks it: positions
 * 1..N without gap or repeat, every acknowledged turn present exactly once where it was
 * acknowledged, and every member saw, from its join on, exactly that sequence.
 */
export async function checkIntegrity(fleet: Fleet, timeoutMs = 30_000): Promise<IntegrityReport> {
  const heads = observedHeads(fleet);
  const hasStore = fleet.universes.every((universe) => universe.readTimeline !== undefined);
  if (hasStore) {
    // the GM's persisted mark says when the whole timeline is in the database
    await waitUntil(
      () =>
        fleet.universes.every((universe) => universe.gm.session.persistedThrough >= heads[universe.index]!),
      timeoutMs,
    );
  }
  const timelines: StoredTurn[][] = [];
  for (const universe of fleet.universes) {
    timelines[universe.index] = universe.readTimeline
      ? await universe.readTimeline()
      : broadcastTimeline(fleet, universe.index);
  }

  const report: IntegrityReport = {
    ok: false,
    source: hasStore ? "database" : "broadcast",
    universes: fleet.universes.length,
    turnsStored: 0,
    ackedTurns: fleet.acked.length,
    timeline: { gaps: 0, duplicatePositions: 0, duplicateIds: 0, behindAcked: 0 },
    acked: { lost: 0, duplicated: 0, moved: 0 },
    members: { checked: 0, gaps: 0, duplicates: 0, reordered: 0, lateStart: 0, behind: 0, mismatched: 0 },
  };

  const byPosition: Map<number, string>[] = [];
  const storedHeads: number[] = [];
  const occurrences: Map<string, number[]>[] = [];
  for (const universe of fleet.universes) {
    const turns = timelines[universe.index]!;
    report.turnsStored += turns.length;
    const positions = new Map<number, string>();
    const ids = new Map<string, number[]>();
    let head = 0;
    for (const turn of turns) {
      head = Math.max(head, turn.position);
      if (positions.has(turn.position)) report.timeline.duplicatePositions += 1;
      positions.set(turn.position, turn.id);
      const at = ids.get(turn.id);
      if (at) {
        at.push(turn.position);
        report.timeline.duplicateIds += 1;
      } else ids.set(turn.id, [turn.position]);
    }
    for (let position = 1; position <= head; position++)
      if (!positions.has(position)) report.timeline.gaps += 1;
    if (head < heads[universe.index]!) report.timeline.behindAcked += 1;
    byPosition[universe.index] = positions;
    storedHeads[universe.index] = head;
    occurrences[universe.index] = ids;
  }

  for (const turn of fleet.acked) {
    const stored = occurrences[turn.universe]!.get(turn.id);
    if (!stored) report.acked.lost += 1;
    else if (stored.length > 1) report.acked.duplicated += 1;
    else if (stored[0] !== turn.position) report.acked.moved += 1;
  }

  for (const member of fleet.members) {
    const { watch } = member;
    const stored = byPosition[member.universe]!;
    const head = storedHeads[member.universe]!;
    report.members.checked += 1;
    report.members.gaps += watch.gaps;
    report.members.duplicates += watch.duplicates;
    report.members.reordered += watch.reordered;
    if (watch.first !== null && watch.joinHead !== null && watch.first > watch.joinHead + 1)
      report.members.lateStart += 1;
    if (watch.last < head) report.members.behind += 1;
    if (watch.first === null) continue;
    for (let position = watch.first; position <= watch.last; position++) {
      if (watch.sawAt(position, stored.get(position) ?? "") === false) report.members.mismatched += 1;
    }
  }

  const counts = [
    ...Object.values(report.timeline),
    ...Object.values(report.acked),
    report.members.gaps,
    report.members.duplicates,
    report.members.reordered,
    report.members.lateStart,
    report.members.behind,
    report.members.mismatched,
  ];
  report.ok = counts.every((count) => count === 0);
  return report;
}

/** Without a database the GM's broadcasts (the first member to join) stand in for the timeline. */
function broadcastTimeline(fleet: Fleet, universe: number): StoredTurn[] {
  const { watch } = fleet.universes[universe]!.gm;
  const turns: StoredTurn[] = [];
  if (watch.first === null) return turns;
  for (let position = watch.first; position <= watch.last; position++) {
    const id = watch.idAt(position);
    if (id) turns.push({ position, id });
  }
  return turns;
}
