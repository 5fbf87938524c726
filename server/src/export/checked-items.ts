import { undoTargetOf, type UniverseState } from "@loom/shared";
import type { EncodedTurn } from "../persist/turn-store.ts";
import type { SavePointLine, SnapshotLine, TurnLine } from "./format.ts";
import { fileLines, readExport, type ExportItem } from "./reader.ts";

/** An item as it crosses over: a turn ready for the store but for its universe and new id. */
export type CheckedItem =
  | { kind: "header"; line: number }
  | { kind: "turn"; line: number; turn: EncodedTurn; undoes: number | null }
  | {
      kind: "snapshot";
      line: number;
      snapshot: Omit<SnapshotLine, "type" | "state">;
      json: string;
      /** The document parsed (and upcast): only for the snapshot at the header's `from`. */
      state: UniverseState | null;
    }
  | { kind: "save_point"; line: number; savePoint: Omit<SavePointLine, "type"> }
  | { kind: "end"; line: number };

/** The turn as the store writes it, its JSON members as text; universe and id are the importer's. */
function encodedTurn(turn: TurnLine): EncodedTurn {
  return {
    universeId: "",
    position: turn.position,
    id: "",
    runId: turn.runId,
    characterId: turn.characterId,
    playerId: turn.playerId,
    actor: turn.actor,
    kind: turn.kind,
    status: turn.status,
    createdAt: turn.createdAt,
    json: {
      input: JSON.stringify(turn.input),
      resolution: turn.resolution === null ? null : JSON.stringify(turn.resolution),
      events: JSON.stringify(turn.events),
      deltas: JSON.stringify(turn.deltas),
      narration: turn.narration === null ? null : JSON.stringify(turn.narration),
    },
  };
}

/** An item as it crosses over; a snapshot's document goes parsed only at the header's `from`. */
export function crossing(item: ExportItem, from: number): CheckedItem {
  if (item.kind === "turn")
    return { kind: "turn", line: item.line, turn: encodedTurn(item.turn), undoes: undoTargetOf(item.turn) };
  if (item.kind === "snapshot") {
    const { position, reason, createdAt, checksum } = item.snapshot;
    return {
      kind: "snapshot",
      line: item.line,
      snapshot: { position, reason, createdAt, checksum },
      json: item.json,
      state: position === from ? item.state : null,
    };
  }
  if (item.kind === "save_point") {
    const { position, playerId, name, createdAt } = item.savePoint;
    return { kind: "save_point", line: item.line, savePoint: { position, playerId, name, createdAt } };
  }
  return { kind: item.kind, line: item.line };
}

/**
 * The file's items, read and checked (every check `readExport` makes) on this thread: each turn is
 * serialized before the next line is read, so the reader need not copy its values.
 */
export async function* checkedItems(file: string, start: UniverseState | null): AsyncGenerator<CheckedItem> {
  let from = 0;
  for await (const item of readExport(fileLines(file), start, { turnsKept: false })) {
    if (item.kind === "header") from = item.header.from;
    yield crossing(item, from);
  }
}
