import { randomUUID } from "node:crypto";
import {
  diceCommitment,
  diceFor,
  reexecute,
  undoTargetOf,
  type DiceSegment,
  type Random,
  type Snapshot,
  type Turn,
  type UniverseState,
} from "@loom/shared";
import type { TurnStore, UniverseRecord } from "../persist/turn-store.ts";
import type { HeaderLine } from "./format.ts";
import { ExportFileError, readExport, type ExportItem } from "./reader.ts";
import type { Progress } from "./source.ts";

export interface ImportOptions {
  /** The new universe's name; the exported one's by default. */
  name?: string;
  /** The player recorded as its creator (its game master). */
  createdBy: string;
  /** Re-execute every command with its recorded dice and compare with the recorded deltas. */
  replay?: boolean;
  newId?: () => string;
  onProgress?: Progress;
  /** Turns appended at a time. */
  batch?: number;
}

export interface ImportResult {
  universe: UniverseRecord;
  turns: number;
  snapshots: number;
  /** The state checksum at the head, equal to the exported universe's. */
  headChecksum: string;
  /** Positions re-executed with --replay (null without it). */
  replayed: number | null;
}

/** What `readExport` gives, read again from the start: the file is checked whole before anything is written. */
export type LineSource = () => AsyncIterable<string>;

/**
 * A new universe from a JSONL export (GM, full ancestry): first the whole file is read and checked
 * (readExport) without writing anything, then read again and written — the genesis as the new
 * universe's, the turns in batches with the snapshots taken at their positions and their undo
 * marks — so a file refused at some line leaves the database as it was. Turns keep their
 * positions, runs, characters, inputs, rolls, deltas and narration; they get new ids (ids are
 * unique across universes). The new universe rolls future turns with a dice secret of its own; the
 * exported dice (and any revealed secret) are kept in its settings under `imported`.
 */
export async function importJsonl(
  store: TurnStore,
  source: LineSource,
  options: ImportOptions,
): Promise<ImportResult> {
  const header = await checkWhole(source, options);
  const newId = options.newId ?? randomUUID;
  const batchSize = options.batch ?? 500;
  let universe: UniverseRecord | null = null;
  let head = 0;
  let pending: Turn[] = [];
  let snapshots: Snapshot[] = [];
  let counts = { turns: 0, snapshots: 0 };
  const flush = async () => {
    if (!universe || (pending.length === 0 && snapshots.length === 0)) return;
    const undone = pending.map(undoTargetOf).filter((target): target is number => target !== null);
    await store.appendTurns(universe.id, { expectedHead: head, turns: pending, snapshots, undone });
    head += pending.length;
    pending = [];
    snapshots = [];
    options.onProgress?.(head, header.head);
  };
  for await (const item of readExport(source())) {
    if (item.kind === "snapshot" && item.snapshot.position === 0) {
      universe = await store.createUniverse(
        {
          id: newId(),
          name: options.name ?? header.universe.name,
          createdBy: options.createdBy,
          settings: {
            imported: {
              universeId: header.universe.id,
              exportedAt: header.exportedAt,
              lineage: header.lineage,
              dice: header.dice,
            },
          },
        },
        item.snapshot.state as UniverseState,
      );
      counts = { ...counts, snapshots: counts.snapshots + 1 };
    } else if (item.kind === "snapshot") {
      snapshots.push({
        universeId: universe!.id,
        position: item.snapshot.position,
        state: item.snapshot.state,
        checksum: item.snapshot.checksum,
        reason: item.snapshot.reason,
        createdAt: item.snapshot.createdAt,
      });
      counts = { ...counts, snapshots: counts.snapshots + 1 };
    } else if (item.kind === "turn") {
      const { type: _type, ...turn } = item.turn;
      pending.push({ ...turn, universeId: universe!.id, id: newId() });
      counts = { ...counts, turns: counts.turns + 1 };
      if (pending.length >= batchSize) await flush();
    }
  }
  await flush();
  const at = await store.stateAt(universe!.id, head);
  return {
    universe: (await store.getUniverse(universe!.id))!,
    ...counts,
    headChecksum: at.checksum,
    replayed: options.replay ? header.head : null,
  };
}

/**
 * The first pass: every line checked; what import needs of the header (a game master's full
 * export, starting from a genesis snapshot); with `replay`, every turn re-executed.
 */
async function checkWhole(source: LineSource, options: ImportOptions): Promise<HeaderLine> {
  let header: HeaderLine | null = null;
  let genesis: UniverseState | null = null;
  const turns: Turn[] = [];
  const lines: number[] = [];
  for await (const item of readExport(source())) {
    if (item.kind === "header") {
      header = item.header;
      if (header.redacted)
        throw new ExportFileError(
          item.line,
          `a ${header.audience} export is redacted for a reader and cannot be imported; export as gm`,
        );
      if (header.from !== 0)
        throw new ExportFileError(
          item.line,
          "a reference export names its past instead of carrying it; export with --ancestry full",
        );
    } else if (item.kind === "snapshot" && item.snapshot.position === 0) {
      genesis = item.state;
    } else if (item.kind === "turn") {
      if (!genesis) throw new ExportFileError(item.line, "a turn before the genesis snapshot (position 0)");
      if (options.replay) {
        turns.push(withoutType(item));
        lines.push(item.line);
      }
    }
  }
  if (!header || !genesis) throw new ExportFileError(1, "no genesis snapshot");
  if (options.replay) replayAll(header, genesis, turns, lines);
  return header;
}

function withoutType(item: Extract<ExportItem, { kind: "turn" }>): Turn {
  const { type: _type, ...turn } = item.turn;
  return turn;
}

/** Re-execution (shared/src/replay.ts) with the dice the export discloses; refused when a secret is sealed. */
function replayAll(header: HeaderLine, genesis: UniverseState, turns: Turn[], lines: number[]): void {
  const sources = header.dice.map((segment) => ({ segment, roll: diceOf(segment) }));
  const dice = (position: number): Random => {
    const found = sources.find((source) => position > source.segment.from);
    if (!found) throw new ExportFileError(1, `no dice stretch covers position ${position}`);
    if (!found.roll)
      throw new ExportFileError(
        1,
        `--replay needs the dice secret of ${found.segment.universeId}: its game master reveals it (POST /api/universes/:id/reveal), then exports again`,
      );
    return found.roll(position);
  };
  const result = reexecute(genesis, turns, dice);
  if (result.divergedAt !== null)
    throw new ExportFileError(
      lines[result.divergedAt - 1 - header.from] ?? 1,
      `re-executing turn ${result.divergedAt} gives other deltas than recorded (or is refused): the file does not replay`,
    );
}

function diceOf(segment: DiceSegment): ((position: number) => Random) | null {
  if (segment.secret === null) return null;
  if (diceCommitment(segment.secret) !== segment.commitment)
    throw new ExportFileError(1, `the dice secret of ${segment.universeId} does not match its commitment`);
  return diceFor({
    universeId: segment.universeId,
    secret: segment.secret,
    legacySeed: segment.legacySeed,
    legacyThrough: segment.legacyThrough,
  });
}
