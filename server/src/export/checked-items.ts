import { randomUUID } from "node:crypto";
import { undoTargetOf, type UniverseState } from "@loom/shared";
import { turnRow } from "../persist/turn-rows.ts";
import type { EncodedTurn, TurnRows } from "../persist/turn-store.ts";
import type { SavePointLine, SnapshotLine, TurnLine } from "./format.ts";
import { fileLines, readExport, type ExportItem, type InheritedUndos } from "./reader.ts";

/** An undo mark the rows could not carry: the undone turn was handed over before its undo. */
export interface UndoMark {
  position: number;
  undoneBy: number;
}

/**
 * An item as it crosses over. Turns come as parcels of consecutive turns already written out as
 * the store's COPY rows (universe and new ids set), with the undo marks of earlier turns beside
 * them; a parcel ends before any other item, so items stay in the file's order.
 */
export type CheckedItem =
  | { kind: "header"; line: number }
  | { kind: "turns"; line: number; rows: TurnRows; marks: UndoMark[] }
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

/** The turn as the store writes it, in the new universe with a new id, its JSON members as text. */
function encodedTurn(turn: TurnLine, universeId: string): EncodedTurn {
  return {
    universeId,
    position: turn.position,
    id: randomUUID(),
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

/**
 * Lines of text as one piece of UTF-8, of its own memory (to be moved to another thread): each
 * line written in turn, where joining them first would copy the whole text once more. Room for
 * ASCII text and the longest line at three bytes a character; text beyond that grows the piece.
 */
function utf8(lines: readonly string[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  let longest = 0;
  for (const line of lines) {
    length += line.length;
    longest = Math.max(longest, line.length);
  }
  let bytes = Buffer.allocUnsafeSlow(length + 2 * longest);
  let at = 0;
  for (const line of lines) {
    if (at + 3 * line.length > bytes.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(2 * bytes.length, at + 3 * line.length));
      bytes.copy(larger, 0, 0, at);
      bytes = larger;
    }
    at += bytes.write(line, at, "utf8");
  }
  return new Uint8Array(bytes.buffer, 0, at);
}

/**
 * Consecutive turns gathered into one parcel of rows: an undo of a turn in the same parcel goes
 * into that turn's row; one of a turn handed over before becomes a mark.
 */
export class TurnParcel {
  private turns: EncodedTurn[] = [];
  private undoneBy = new Map<number, number>();
  private marks: UndoMark[] = [];
  private line = 0;

  constructor(private readonly universeId: string) {}

  get size(): number {
    return this.turns.length;
  }

  add(item: Extract<ExportItem, { kind: "turn" }>): void {
    if (this.turns.length === 0) this.line = item.line;
    this.turns.push(encodedTurn(item.turn, this.universeId));
    const target = undoTargetOf(item.turn);
    if (target === null) return;
    if (target >= this.turns[0]!.position) this.undoneBy.set(target, item.turn.position);
    else this.marks.push({ position: target, undoneBy: item.turn.position });
  }

  /** The parcel's rows (null when it has no turns), and a new empty parcel begun. */
  take(): Extract<CheckedItem, { kind: "turns" }> | null {
    if (this.turns.length === 0) return null;
    const rows = this.turns.map((turn) => turnRow(turn, this.undoneBy.get(turn.position)));
    for (const turn of this.turns) this.undoneBy.delete(turn.position);
    // a mark on a position the rows do not hold is the store's to place (or refuse)
    for (const [position, undoneBy] of this.undoneBy) this.marks.push({ position, undoneBy });
    const first = this.turns[0]!.position;
    const parcel = {
      kind: "turns" as const,
      line: this.line,
      rows: { universeId: this.universeId, first, count: this.turns.length, chunks: [utf8(rows)] },
      marks: this.marks,
    };
    this.turns = [];
    this.undoneBy = new Map();
    this.marks = [];
    return parcel;
  }
}

/** An item other than a turn as it crosses over; a snapshot's document goes parsed only at the header's `from`. */
export function crossing(item: Exclude<ExportItem, { kind: "turn" }>, from: number): CheckedItem {
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

/** Turns a parcel holds at most: a few hundred make a crossing cheap and keep a parcel small. */
export const PARCEL_TURNS = 250;

/** What the checks take besides the file: the longest line, and a reference export's parent's undos. */
export interface CheckOptions {
  /** In characters; fileLines' MAX_LINE_CHARS by default. */
  maxLine?: number;
  inherited?: InheritedUndos;
}

/**
 * The file's items, read and checked (every check `readExport` makes), the turns in parcels of
 * rows of universe `universeId`: each turn is written out before the next line is read, so the
 * reader need not copy its values.
 */
export async function* checkedItems(
  file: string,
  start: UniverseState | null,
  universeId: string,
  options: CheckOptions = {},
): AsyncGenerator<CheckedItem> {
  let from = 0;
  // without a state to start from, a turn before the snapshot at `from` is refused at its own
  // line (import.ts): it goes over alone, before any later line is read
  let based = start !== null;
  const parcel = new TurnParcel(universeId);
  const lines = fileLines(file, options.maxLine);
  for await (const item of readExport(lines, start, { turnsKept: false, inherited: options.inherited })) {
    if (item.kind === "turn") {
      parcel.add(item);
      if (parcel.size >= PARCEL_TURNS || !based) yield parcel.take()!;
      continue;
    }
    const turns = parcel.take();
    if (turns) yield turns;
    if (item.kind === "header") from = item.header.from;
    if (item.kind === "snapshot" && item.snapshot.position === from) based = true;
    yield crossing(item, from);
  }
}
