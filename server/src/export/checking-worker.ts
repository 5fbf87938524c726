import { parentPort, workerData } from "node:worker_threads";
import type { UniverseState } from "@loom/shared";
import { installNativeSha256 } from "../native-sha256.ts";
import { crossing, type CheckedItem } from "./checked-items.ts";
import { ExportFileError, fileLines, readExport } from "./reader.ts";

/**
 * An export read and checked on a thread of its own (checked-file.ts starts it): its items
 * (checked-items.ts) handed over in parcels. At most PARCELS_AHEAD parcels wait for the writer.
 */

export type CheckerMessage =
  | { items: CheckedItem[] }
  | { done: true }
  | { refused: { line: number; reason: string; paths: string[]; code: ExportFileError["code"] } }
  | { failed: { name: string; message: string } };

/** Turns a parcel holds: a parcel crossing over costs a message; a few hundred turns make it cheap. */
const PARCEL_TURNS = 250;
/** Parcels handed over and not yet taken: what the checker may run ahead of the writer (about 3 MB). */
export const PARCELS_AHEAD = 8;

/** The first message says where the state starts; each one after it lets one more parcel go. */
async function check(port: NonNullable<typeof parentPort>, file: string): Promise<void> {
  const start = await new Promise<UniverseState | null>((resolve) =>
    port.once("message", (message: { start: UniverseState | null }) => resolve(message.start)),
  );
  // the writer asks for more only once a parcel has reached it, so after this listener is on
  let credit = PARCELS_AHEAD;
  let wake: (() => void) | null = null;
  port.on("message", () => {
    credit += 1;
    wake?.();
  });
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
  for await (const item of readExport(fileLines(file), start, { turnsKept: false })) {
    if (item.kind === "header") from = item.header.from;
    parcel.push(crossing(item, from));
    if (item.kind === "turn") turns += 1;
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
