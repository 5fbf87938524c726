import type { Turn } from "@loom/shared";

/** A turn a client was told is on the timeline (its ack). */
export interface Acked {
  position: number;
  id: string;
}

export interface Integrity {
  acknowledged: number;
  /** Acknowledged turns not on the timeline read back (by id at their position). */
  lost: number;
  /** Client commands (key and seq) applied more than once, and positions held twice. */
  duplicated: number;
  /** Positions read back are 1..N with no gap. */
  gapless: boolean;
}

/** Compares what clients were told with the timeline as the server reads it back. */
export function checkIntegrity(acked: readonly Acked[], timeline: readonly Turn[]): Integrity {
  const byPosition = new Map<number, Turn>();
  let duplicated = 0;
  for (const turn of timeline) {
    if (byPosition.has(turn.position)) duplicated += 1;
    byPosition.set(turn.position, turn);
  }
  const commands = new Set<string>();
  for (const turn of timeline) {
    const { clientKey, seq } = turn.input as { clientKey?: string; seq?: number };
    if (clientKey === undefined || seq === undefined) continue;
    const key = `${clientKey}:${seq}`;
    if (commands.has(key)) duplicated += 1;
    commands.add(key);
  }
  const lost = acked.filter((turn) => byPosition.get(turn.position)?.id !== turn.id).length;
  const positions = timeline.map((turn) => turn.position);
  const gapless = positions.every((position, i) => position === (positions[0] ?? 1) + i);
  return { acknowledged: acked.length, lost, duplicated, gapless };
}
