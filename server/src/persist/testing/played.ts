import { CanonicalTexts, freezeShared, type Turn } from "@loom/shared";
import { playCampaign } from "@loom/shared/testing";
import { partedState } from "../snapshot-parts.ts";
import type { PartedSnapshot, TurnStore } from "../turn-store.ts";

export interface PlayedUniverseOptions {
  id: string;
  name?: string;
  /** The game master: the universe's creator. */
  createdBy: string;
  turns: number;
  seed?: number;
  /** A snapshot every this many turns (default 100). */
  snapshotEvery?: number;
  /** Turns per append (default 1,000). */
  batch?: number;
  progress?: (head: number) => void;
  /** The shortest bucket stored as a part of its own (snapshot-parts.ts; the server's by default). */
  minPart?: number;
}

/**
 * Creates a universe and stores a campaign played by the rules (shared's simulator: actions,
 * choices, world events, scenes, compels, retcons, undos), appended in batches with a snapshot at
 * every interval, as a server that played it would have stored it. For benchmarks and browser
 * tests that need a long timeline without playing it through a room.
 */
export async function storePlayedUniverse(store: TurnStore, options: PlayedUniverseOptions): Promise<void> {
  const every = options.snapshotEvery ?? 100;
  const size = options.batch ?? 1_000;
  const played = playCampaign({ seed: options.seed ?? 16, turns: options.turns, universeId: options.id });
  await store.createUniverse(
    { id: options.id, name: options.name ?? "A played campaign", createdBy: options.createdBy },
    played.genesis,
  );
  let batch: Turn[] = [];
  let snapshots: PartedSnapshot[] = [];
  // as the authority does: one cutter for the universe's states, which share what they did not change
  const texts = new CanonicalTexts();
  let undone: number[] = [];
  let head = 0;
  const flush = async () => {
    await store.appendTurns(options.id, { expectedHead: head, turns: batch, snapshots, undone });
    head += batch.length;
    batch = [];
    snapshots = [];
    undone = [];
    options.progress?.(head);
  };
  for (const step of played.steps) {
    batch.push(step.turn);
    if (step.undoes !== undefined) undone.push(step.undoes);
    if (step.turn.position % every === 0) {
      const { parts, checksum } = partedState(freezeShared(step.state), texts, options.minPart);
      snapshots.push({
        universeId: options.id,
        position: step.turn.position,
        stateParts: parts,
        checksum,
        reason: "interval_turns",
        createdAt: step.turn.createdAt,
      });
    }
    if (batch.length === size) await flush();
  }
  if (batch.length > 0) await flush();
}

/** Appends after `head` an undo of the turn at `target` (its mark written on that turn), as a table would. */
export async function appendUndo(
  store: TurnStore,
  universeId: string,
  head: number,
  target: number,
): Promise<void> {
  const [last] = await store.turnsBetween(universeId, head - 1, head);
  const undo: Turn = {
    ...last!,
    id: `${last!.id}-undo`,
    position: head + 1,
    kind: "undo",
    input: { targetPosition: target },
    deltas: [],
    events: [],
  };
  await store.appendTurns(universeId, { expectedHead: head, turns: [undo], undone: [target] });
}
