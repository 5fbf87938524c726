import { parentPort, workerData } from "node:worker_threads";
import { undoTargetOf, type UniverseState } from "@loom/shared";
import { installNativeSha256 } from "../native-sha256.ts";
import type { EncodedTurn } from "../persist/turn-store.ts";
import type { SavePointLine, SnapshotLine, TurnLine } from "./format.ts";
import { ExportFileError, fileLines, readExport } from "./reader.ts";

/**
 * An export read and checked on a thread of its own (checked-file.ts starts it): every line
 * parsed and checked as `readExport` does, each turn's JSON members serialized for the store,
 * handed over in parcels of items. At most PARCELS_AHEAD parcels wait for the reader at a time.
 */

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

export type CheckerMessage =
  | { items: CheckedItem[] }
  | { done: true }
  | { refused: { line: number; reason: string; paths: string[]; code: ExportFileError["code"] } }
  | { failed: { name: string; message: string } };

/** Turns a parcel holds: a parcel crossing over costs a message; a few hundred turns make it cheap. */
const PARCEL_TURNS = 250;
/** Parcels handed over and not yet taken: what the checker may run ahead of the writer (about 3 MB). */
export const PARCELS_AHEAD = 8;

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

/** The first message says where the state starts; each one after it lets one more parcel go. */
async function check(port: NonNullable<typeof parentPort>, file: string): Promise<void> {
  let start: { start: UniverseState | null } | null = null;
  let credit = PARCELS_AHEAD;
  let wake: (() => void) | null = null;
  port.on("message", (message: { start: UniverseState | null } | "more") => {
    if (message === "more") credit += 1;
    else start = message;
    wake?.();
  });
  while (start === null) await new Promise<void>((resolve) => (wake = resolve));
  let parcel: CheckedItem[] = [];
  let turns = 0;
  const send = async () => {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    credit -= 1;
    port.postMessage({ items: parcel } satisfies CheckerMessage);
    parcel = [];
    turns = 0;
  };
  let from = 0;
  // each turn is serialized before the next is read: it need not keep its own copy of the values
  for await (const item of readExport(fileLines(file), (start as { start: UniverseState | null }).start, { turnsKept: false })) {
    if (item.kind === "header") {
      from = item.header.from;
      parcel.push({ kind: "header", line: item.line });
    } else if (item.kind === "turn") {
      parcel.push({ kind: "turn", line: item.line, turn: encodedTurn(item.turn), undoes: undoTargetOf(item.turn) });
      turns += 1;
    } else if (item.kind === "snapshot") {
      const { position, reason, createdAt, checksum } = item.snapshot;
      parcel.push({
        kind: "snapshot",
        line: item.line,
        snapshot: { position, reason, createdAt, checksum },
        json: item.json,
        state: position === from ? item.state : null,
      });
    } else if (item.kind === "save_point") {
      const { position, playerId, name, createdAt } = item.savePoint;
      parcel.push({ kind: "save_point", line: item.line, savePoint: { position, playerId, name, createdAt } });
    } else parcel.push({ kind: "end", line: item.line });
    if (turns >= PARCEL_TURNS) await send();
  }
  if (parcel.length > 0) await send();
  port.postMessage({ done: true } satisfies CheckerMessage);
}

if (parentPort) {
  const port = parentPort;
  installNativeSha256();
  check(port, (workerData as { file: string }).file).catch((error: unknown) => {
    port.postMessage(
      (error instanceof ExportFileError
        ? { refused: { line: error.line, reason: error.reason, paths: error.paths, code: error.code } }
        : {
            failed: {
              name: error instanceof Error ? error.name : "Error",
              message: error instanceof Error ? error.message : String(error),
            },
          }) satisfies CheckerMessage,
    );
  });
}
